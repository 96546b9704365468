package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

var migrations = os.DirFS("testdata")

type widget struct {
	ID        string
	Price     string
	Name      string
	CreatedAt time.Time
}

func TestStorage(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "widgets", migrations, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		at := time.Date(2026, 1, 31, 23, 59, 59, 123456000, time.UTC)

		// Migrating again applies nothing and fails nothing.
		if err := db.Migrate(ctx, migrations); err != nil {
			t.Fatalf("second migrate: %v", err)
		}

		// A transaction that fails leaves nothing behind, including writes
		// made through Conn inside it.
		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Conn(ctx).Create(&widget{ID: "a", Price: "1.10", Name: "x", CreatedAt: at}).Error; err != nil {
				return err
			}
			return db.InTx(ctx, func(ctx context.Context) error { return boom })
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want boom", err)
		}
		var n int64
		db.Conn(ctx).Model(&widget{}).Count(&n)
		if n != 0 {
			t.Fatalf("rolled back transaction left %d rows", n)
		}

		// A committed write reads back exactly: decimals as written, times in UTC to the microsecond.
		if err := db.Conn(ctx).Create(&widget{ID: "a", Price: "12345678901234567.123456789", Name: "x", CreatedAt: at}).Error; err != nil {
			t.Fatal(err)
		}
		var got widget
		if err := db.Conn(ctx).First(&got, "id = ?", "a").Error; err != nil {
			t.Fatal(err)
		}
		if !money.MustParse(got.Price).Equal(money.MustParse("12345678901234567.123456789")) || !got.CreatedAt.Equal(at) {
			t.Fatalf("read back %+v", got)
		}

		// Identifiers declared COLLATE "C" sort by bytes on both engines.
		for i, id := range []string{"b", "B", "é", "_"} {
			if err := db.Conn(ctx).Create(&widget{ID: id, Price: fmt.Sprint(i + 1), CreatedAt: at}).Error; err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		if err := db.Conn(ctx).Model(&widget{}).Order("id").Pluck("id", &ids).Error; err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[B _ a b é]" {
			t.Errorf("ids in order %q, want byte order [B _ a b é]", ids)
		}

		// Unique violations come back as gorm.ErrDuplicatedKey on both engines.
		err = db.Conn(ctx).Create(&widget{ID: "b", Price: "12345678901234567.123456789", CreatedAt: at}).Error
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Fatalf("duplicate insert error = %v, want ErrDuplicatedKey", err)
		}
	})
}

// TestCustomPlans: a service that asks for custom plans gets them on
// every connection, the others keep PostgreSQL's default.
func TestCustomPlans(t *testing.T) {
	url := storagetest.EmptyPostgres(t)
	for _, custom := range []bool{false, true} {
		db, err := storage.Open(t.Context(), storage.Options{Service: "plans", URL: url, CustomPlans: custom})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := db.OutsideTx(t.Context()).Raw("SHOW plan_cache_mode").Scan(&mode).Error; err != nil {
			t.Fatal(err)
		}
		db.Close()
		if want := map[bool]string{false: "auto", true: "force_custom_plan"}[custom]; mode != want {
			t.Errorf("CustomPlans %v: plan_cache_mode %q, want %q", custom, mode, want)
		}
	}
}
