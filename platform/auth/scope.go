package auth

import (
	"context"

	"gorm.io/gorm"
)

// Scope restricts a query to the customers that ctx's customer key sees,
// by the column that names a row's customer; for any other caller it
// changes nothing. Stores apply it to every read that a customer key may
// make, so that the scope holds even where a handler forgot it.
func Scope(ctx context.Context, column string) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if ids, ok := CustomerScope(ctx); ok {
			return db.Where(column+" IN ?", ids)
		}
		return db
	}
}

// IfCustomer adds the condition to a query when ctx's caller is a customer
// key: the published catalog, say, for what a customer may read of it.
func IfCustomer(ctx context.Context, query string, args ...any) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if _, ok := CustomerScope(ctx); ok {
			return db.Where(query, args...)
		}
		return db
	}
}
