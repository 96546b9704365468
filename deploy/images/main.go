// Command images builds Meterplane's container images without a container
// daemon: for each binary it builds a static Linux executable and writes an
// OCI image layout (a directory that registries' clients such as crane,
// skopeo and oras push as it is) of a single layer on an empty base: the
// binary, CA certificates, /etc/passwd and /etc/group with the non-root
// user 65532, and a writable /data and /tmp for that user.
//
//	go run ./deploy/images [-out out/images] [-version v1.2.3] [catalog meterplane ...]
//
// It runs from anywhere inside the repository (it finds go.work) and
// writes out/images/<name>, one layout per image, tagged with the version.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An image is one binary of the repository.
type image struct {
	Name  string   // image and binary name
	Pkg   string   // main package, relative to the repository's root
	Ports []string // exposed ports
}

// Each service serves gRPC on 9090 and HTTP (its routes, /healthz, /readyz,
// /metrics) on 8080 in its image; the chart and `docker run` use these.
var servicePorts = []string{"9090/tcp", "8080/tcp"}

// images are every image the project ships.
var images = []image{
	{"catalog", "./services/catalog/cmd/catalog", servicePorts},
	{"subscription", "./services/subscription/cmd/subscription", servicePorts},
	{"metering", "./services/metering/cmd/metering", servicePorts},
	{"quota", "./services/quota/cmd/quota", servicePorts},
	{"invoice", "./services/invoice/cmd/invoice", servicePorts},
	{"meterplane", "./cmd/meterplane", servicePorts},
	{"gateway", "./cmd/gateway", []string{"8080/tcp"}},
}

const (
	// uid and gid of the user the images run as (distroless' "nonroot").
	uid = 65532
	// source is the project's repository, the images' source label.
	source = "https://github.com/meterplane/meterplane"
	// caFile is where Debian-like systems and the images keep CA
	// certificates, which Go's crypto/x509 reads on Linux.
	caFile = "etc/ssl/certs/ca-certificates.crt"
)

func main() {
	out := flag.String("out", "out/images", "directory of the OCI layouts, relative to the repository's root")
	version := flag.String("version", "", "image tag and version label; default: git describe, or dev")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: images [flags] [name ...]\n\nBuilds the images named (default all: %s) as OCI layouts.\n\nFlags:\n", strings.Join(names(), ", "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*out, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func names() []string {
	var ns []string
	for _, im := range images {
		ns = append(ns, im.Name)
	}
	return ns
}

func run(out, version string, only []string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if version == "" {
		version = gitVersion(root)
	}
	for _, n := range only {
		if !slices.Contains(names(), n) {
			return fmt.Errorf("no image %q; want one of %s", n, strings.Join(names(), ", "))
		}
	}
	for _, im := range images {
		if len(only) > 0 && !slices.Contains(only, im.Name) {
			continue
		}
		start := time.Now()
		if err := build(root, filepath.Join(out, im.Name), version, im); err != nil {
			return fmt.Errorf("%s: %w", im.Name, err)
		}
		fmt.Printf("%s:%s -> %s (%s)\n", im.Name, version, filepath.Join(out, im.Name), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// repoRoot is the nearest directory up from the working one with go.work.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the repository: no go.work above the working directory")
		}
		dir = parent
	}
}

// gitVersion describes the checked-out commit, or is "dev" without git.
func gitVersion(root string) string {
	cmd := exec.Command("git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	b, err := cmd.Output()
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		return v
	}
	return "dev"
}

// arch is the images' architecture: GOARCH if set, else this machine's.
func arch() string {
	if a := os.Getenv("GOARCH"); a != "" {
		return a
	}
	return runtime.GOARCH
}

// build builds im's binary and writes its image as an OCI layout in dir,
// replacing what was there.
func build(root, dir, version string, im image) error {
	tmp, err := os.MkdirTemp("", "meterplane-image")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, im.Name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, im.Pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", im.Pkg, err, out)
	}
	img, err := Image(bin, version, im)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
	}))
}

// Image is the image of the static binary bin: one layer on an empty base.
func Image(bin, version string, im image) (v1.Image, error) {
	ca, err := os.ReadFile("/" + caFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (install the ca-certificates package): %w", err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	layer, err := rootLayer(im.Name, exe, ca)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch()
	ports := map[string]struct{}{}
	for _, p := range im.Ports {
		ports[p] = struct{}{}
	}
	cf.Config = v1.Config{
		Entrypoint:   []string{"/" + im.Name},
		User:         fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir:   "/data",
		ExposedPorts: ports,
		// Listen on every interface in a container, and keep embedded
		// SQLite files (no DATABASE_URL) in the image's writable /data.
		Env: []string{"MP_GRPC_ADDR=:9090", "MP_HTTP_ADDR=:8080", "MP_DATA_DIR=/data"},
		Labels: map[string]string{
			"org.opencontainers.image.source":  source,
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.title":   "meterplane-" + im.Name,
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootLayer is the image's file system. Every entry has the same time, so
// the same binary gives the same layer.
func rootLayer(name string, exe, ca []byte) (v1.Layer, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/data:/sbin/nologin\n", uid, uid)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid)
	entries := []struct {
		path  string
		mode  int64
		owner int
		body  []byte // nil for a directory
	}{
		{"etc/", 0o755, 0, nil},
		{"etc/passwd", 0o644, 0, []byte(passwd)},
		{"etc/group", 0o644, 0, []byte(group)},
		{"etc/ssl/", 0o755, 0, nil},
		{"etc/ssl/certs/", 0o755, 0, nil},
		{caFile, 0o644, 0, ca},
		{"data/", 0o750, uid, nil},
		{"tmp/", 0o1777, 0, nil},
		{name, 0o755, 0, exe},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: e.path, Mode: e.mode, Uid: e.owner, Gid: e.owner,
			Size: int64(len(e.body)), ModTime: time.Unix(0, 0)}
		if e.body == nil {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// Compressed once, kept in memory for the digest and the layout.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}
