package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImages builds every image as `make images` does, reads the layouts
// back and runs each image's binary, taken out of its layer, with --help.
func TestImages(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var names []string
	for _, im := range images {
		names = append(names, im.Name)
	}
	if err := run(out, "test", names); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := layout.FromPath(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := p.ImageIndex()
			if err != nil {
				t.Fatal(err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Manifests) != 1 || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" {
				t.Fatalf("layout's index = %+v, want one image tagged test", m.Manifests)
			}
			img, err := p.Image(m.Manifests[0].Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/"+name {
				t.Errorf("Entrypoint = %q, want [/%s]", c.Entrypoint, name)
			}
			if c.User != "65532:65532" {
				t.Errorf("User = %q, want the non-root 65532:65532", c.User)
			}
			if _, ok := c.ExposedPorts["9090/tcp"]; !ok && name != "gateway" {
				t.Errorf("ExposedPorts = %v, want 9090/tcp and 8080/tcp", c.ExposedPorts)
			}
			if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
				t.Errorf("ExposedPorts = %v, want 8080/tcp", c.ExposedPorts)
			}
			if c.Labels["org.opencontainers.image.version"] != "test" || c.Labels["org.opencontainers.image.source"] == "" {
				t.Errorf("Labels = %v, want the version and source", c.Labels)
			}
			if cf.OS != "linux" {
				t.Errorf("OS = %q, want linux", cf.OS)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != 1 {
				t.Fatalf("Layers = %d, %v; want 1", len(layers), err)
			}
			rc, err := layers[0].Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			files := map[string]*tar.Header{}
			bin := filepath.Join(t.TempDir(), name)
			tr := tar.NewReader(rc)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				files[h.Name] = h
				switch h.Name {
				case name:
					f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := io.Copy(f, tr); err != nil {
						t.Fatal(err)
					}
					f.Close()
				case "etc/passwd":
					b, _ := io.ReadAll(tr)
					if !strings.Contains(string(b), ":65532:65532:") {
						t.Errorf("/etc/passwd has no user 65532:\n%s", b)
					}
				}
			}
			for _, f := range []string{name, "etc/passwd", "etc/group", caFile} {
				if h := files[f]; h == nil || h.Size == 0 {
					t.Errorf("layer has no %s (or it is empty)", f)
				}
			}
			if h := files[name]; h != nil && h.Mode&0o111 == 0 {
				t.Errorf("/%s mode %o, want executable", name, h.Mode)
			}
			if h := files["data/"]; h == nil || h.Uid != 65532 {
				t.Errorf("layer's /data = %+v, want a directory of 65532", h)
			}
			got, err := exec.Command(bin, "--help").CombinedOutput()
			if err != nil || !strings.Contains(string(got), "Usage:") || !strings.Contains(string(got), "-migrate-only") {
				t.Errorf("/%s --help = %v:\n%s\nwant exit 0 and the usage", name, err, got)
			}
		})
	}
}
