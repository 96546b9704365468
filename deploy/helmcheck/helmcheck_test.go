// Package helmcheck checks the Helm chart offline: it lints it and renders
// it with helm (the pinned one that `make tools` builds into bin/), then
// decodes every rendered object strictly into its Kubernetes API type, an
// unknown field being an error, and checks what the chart promises: probes,
// non-root pods, resources, the migration hook, images that follow the
// values, Services and policies that select the Deployments' pods.
package helmcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// services are the chart's services; components adds the gateway.
var (
	services   = []string{"catalog", "subscription", "metering", "quota", "invoice"}
	components = append(slices.Clone(services), "gateway")
)

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor
// the chart writes, not in k8s.io/api: decoding into it rejects any other
// field.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Scheme        string `json:"scheme,omitempty"`
			TLSConfig     *struct {
				CA struct {
					Secret corev1.SecretKeySelector `json:"secret"`
				} `json:"ca"`
				ServerName string `json:"serverName"`
			} `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// newObject is the typed object of an apiVersion and kind.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "batch/v1 Job":
		return &batchv1.Job{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, true
	}
	return nil, false
}

// rendered is a rendered chart, its objects by kind.
type rendered struct {
	namespace       string
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	services        []*corev1.Service
	deployments     []*appsv1.Deployment
	jobs            []*batchv1.Job
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	networkPolicies []*networkingv1.NetworkPolicy
	serviceMonitors []*serviceMonitor
}

// repoRoot is the repository's root, above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// helm finds the helm binary: $HELM, bin/helm (`make tools`), or helm on
// PATH. Without it the test is skipped on a developer's machine and fails
// in CI.
func helm(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("HELM"), filepath.Join(repoRoot(t), "bin", "helm")}
	if p, err := exec.LookPath("helm"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("helm not found (HELM, bin/helm or PATH): `make helm-check` builds the pinned one")
	}
	t.Skip("helm not found (HELM, bin/helm or PATH): `make tools` builds the pinned one")
	return ""
}

func chartDir(t *testing.T) string { return filepath.Join(repoRoot(t), "deploy", "helm", "meterplane") }

// runHelm runs helm with args and returns its standard output.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	// No repositories, plugins or caches of the user's: the chart needs none.
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// render renders the chart as release "mp" in namespace ns with args (-f,
// --set) and decodes every object strictly.
func render(t *testing.T, ns string, args ...string) *rendered {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", "mp", chartDir(t), "--namespace", ns}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{namespace: ns}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		// Strict: a key given twice is an error too.
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatalf("document %d is not YAML: %v\n%s", i, err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		obj, ok := newObject(tm.APIVersion, tm.Kind)
		if !ok {
			t.Fatalf("document %d: %s %s is not a kind the chart should render (or this test knows)", i, tm.APIVersion, tm.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Fatalf("%s %s (document %d): %v\n%s", tm.APIVersion, tm.Kind, i, err, doc)
		}
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			r.configMaps = append(r.configMaps, o)
		case *corev1.Secret:
			r.secrets = append(r.secrets, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *batchv1.Job:
			r.jobs = append(r.jobs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *networkingv1.NetworkPolicy:
			r.networkPolicies = append(r.networkPolicies, o)
		case *serviceMonitor:
			r.serviceMonitors = append(r.serviceMonitors, o)
		}
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// appVersion is the chart's appVersion, the images' default tag.
func appVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(t), "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml's appVersion: %q, %v", chart.AppVersion, err)
	}
	return chart.AppVersion
}

func TestLint(t *testing.T) {
	t.Parallel()
	for _, values := range []string{"values.yaml", "values-production.yaml"} {
		if out, err := runHelm(t, "lint", "--strict", chartDir(t), "-f", filepath.Join(chartDir(t), values)); err != nil {
			t.Errorf("lint with %s: %v\n%s", values, err, out)
		}
	}
}

func TestDefaultValues(t *testing.T) {
	t.Parallel()
	r := render(t, "meterplane")
	r.check(t, "ghcr.io/meterplane", appVersion(t), false)
	if len(r.hpas) != 0 || len(r.serviceMonitors) != 0 {
		t.Errorf("defaults render %d HPAs and %d ServiceMonitors, want none", len(r.hpas), len(r.serviceMonitors))
	}
	// The chart's Secret holds every secret setting, keys generated.
	if len(r.secrets) != 2 {
		t.Fatalf("defaults render %d Secrets, want the chart's and the migration hook's", len(r.secrets))
	}
	for _, s := range r.secrets {
		want := []string{"DATABASE_URL", "MP_ADMIN_KEY", "MP_SERVICE_KEY", "REDIS_URL"}
		if s.Annotations["helm.sh/hook"] != "" {
			want = []string{"DATABASE_URL"}
		}
		var got []string
		for k, v := range s.Data {
			got = append(got, k)
			if len(v) == 0 {
				t.Errorf("Secret %s: %s is empty", s.Name, k)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("Secret %s has %v, want %v", s.Name, got, want)
		}
	}
}

func TestProductionValues(t *testing.T) {
	t.Parallel()
	r := render(t, "billing", "-f", filepath.Join(chartDir(t), "values-production.yaml"))
	r.check(t, "registry.example.com/meterplane", "0.1.0", true)
	if len(r.secrets) != 0 {
		t.Errorf("production values render %d Secrets, want none: every secret is an existing one", len(r.secrets))
	}
	if len(r.serviceMonitors) != 1 || len(r.hpas) == 0 {
		t.Errorf("production values render %d ServiceMonitors and %d HPAs, want 1 and some", len(r.serviceMonitors), len(r.hpas))
	}
	for _, d := range r.deployments {
		if d.Spec.Template.Spec.TopologySpreadConstraints == nil {
			t.Errorf("Deployment %s spreads its pods over no zones", d.Name)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "tls" }) {
				t.Errorf("Deployment %s: container %s mounts no TLS certificate", d.Name, c.Name)
			}
		}
	}
}

// dbSecret is the Secret a container reads DATABASE_URL from.
func dbSecret(c corev1.Container) string {
	for _, e := range c.Env {
		if e.Name == "DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name
		}
	}
	return ""
}

// TestImagesFollowValues: the images' registry and tag come from the
// values, a disabled service has no Deployment, Service or address, and a
// service's own database Secret is what it and its migration read.
func TestImagesFollowValues(t *testing.T) {
	t.Parallel()
	r := render(t, "ns", "--set", "image.registry=registry.test/team/", "--set", "image.tag=v9.8.7",
		"--set", "services.quota.enabled=false", "--set", "services.metering.database.existingSecret=metering-db")
	for _, d := range r.deployments {
		name := d.Labels["app.kubernetes.io/component"]
		if name == "quota" {
			t.Errorf("Deployment %s of the disabled quota", d.Name)
		}
		if got, want := d.Spec.Template.Spec.Containers[0].Image, "registry.test/team/"+name+":v9.8.7"; got != want {
			t.Errorf("Deployment %s runs %s, want %s", d.Name, got, want)
		}
		if got := dbSecret(d.Spec.Template.Spec.Containers[0]); (got == "metering-db") != (name == "metering") {
			t.Errorf("Deployment %s reads DATABASE_URL from %q", d.Name, got)
		}
	}
	for _, c := range r.jobs[0].Spec.Template.Spec.Containers {
		if got := dbSecret(c); got == "" || (got == "metering-db") != (c.Name == "metering") {
			t.Errorf("migration of %s reads DATABASE_URL from %q", c.Name, got)
		}
	}
	if len(r.deployments) != len(components)-1 {
		t.Errorf("%d Deployments, want %d", len(r.deployments), len(components)-1)
	}
	if _, ok := r.configMaps[0].Data["MP_QUOTA_ADDR"]; ok {
		t.Errorf("ConfigMap names the disabled quota's address")
	}
}

// TestRefusesMissingDatabase: values without PostgreSQL fail to render,
// with a message that says what to set.
func TestRefusesMissingDatabase(t *testing.T) {
	t.Parallel()
	_, err := runHelm(t, "template", "mp", chartDir(t), "--set", "database.url=")
	if err == nil || !strings.Contains(err.Error(), "database.existingSecret") {
		t.Errorf("render without a database: %v, want it refused naming database.existingSecret", err)
	}
	_, err = runHelm(t, "template", "mp", chartDir(t), "--set", "redis.url=memcached://x:1")
	if err == nil || !strings.Contains(err.Error(), "redis+cluster://") {
		t.Errorf("render with a bad REDIS_URL: %v, want it refused", err)
	}
}

// check checks what every rendering must hold: images of registry and
// tag, and with tls the certificates' settings.
func (r *rendered) check(t *testing.T, registry, tag string, tls bool) {
	t.Helper()
	if len(r.deployments) != len(components) || len(r.services) != len(components) || len(r.pdbs) != len(components) {
		t.Fatalf("%d Deployments, %d Services, %d PodDisruptionBudgets; want %d of each", len(r.deployments), len(r.services),
			len(r.pdbs), len(components))
	}
	if len(r.configMaps) != 1 {
		t.Fatalf("%d ConfigMaps, want 1", len(r.configMaps))
	}
	cm := r.configMaps[0]
	podLabels := map[string]labels.Set{} // component → its pods' labels
	hpa := map[string]bool{}
	for _, h := range r.hpas {
		hpa[h.Spec.ScaleTargetRef.Name] = true
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: %+v", h.Name, h.Spec)
		}
	}
	for _, d := range r.deployments {
		name := d.Labels["app.kubernetes.io/component"]
		if !slices.Contains(components, name) {
			t.Errorf("Deployment %s: component %q", d.Name, name)
			continue
		}
		checkName(t, d.Name)
		spec := d.Spec.Template.Spec
		podLabels[name] = d.Spec.Template.Labels
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector %v does not select its pods %v", d.Name, d.Spec.Selector, d.Spec.Template.Labels)
		}
		if hpa[d.Name] != (d.Spec.Replicas == nil) {
			t.Errorf("Deployment %s: replicas %v with an HPA %v; want replicas set exactly when no HPA scales it", d.Name, d.Spec.Replicas, hpa[d.Name])
		}
		if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("Deployment %s: pod does not run as non-root", d.Name)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("Deployment %s mounts a service account token", d.Name)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("Deployment %s: %d containers, want 1", d.Name, len(spec.Containers))
		}
		c := spec.Containers[0]
		if want := registry + "/" + name + ":" + tag; c.Image != want {
			t.Errorf("Deployment %s runs %s, want %s", d.Name, c.Image, want)
		}
		checkContainer(t, "Deployment "+d.Name, c)
		checkProbe(t, d.Name, "liveness", c.LivenessProbe, "/healthz", c.Ports)
		checkProbe(t, d.Name, "readiness", c.ReadinessProbe, "/readyz", c.Ports)
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("Deployment %s: resources %+v, want CPU and memory requests and a memory limit", d.Name, c.Resources)
		}
		if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool {
			return e.ConfigMapRef != nil && e.ConfigMapRef.Name == cm.Name
		}) {
			t.Errorf("Deployment %s does not read the ConfigMap %s", d.Name, cm.Name)
		}
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		want := []string{"MP_ADMIN_KEY", "MP_SERVICE_KEY"}
		if name != "gateway" {
			want = append(want, "DATABASE_URL", "REDIS_URL")
		}
		for _, k := range want {
			if e, ok := env[k]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("Deployment %s: %s not from a Secret: %+v", d.Name, k, e)
			}
		}
	}
	for _, name := range components {
		if podLabels[name] == nil {
			t.Errorf("no Deployment of %s", name)
		}
	}

	// Services: each selects its component's pods, on the ports they name.
	for _, s := range r.services {
		name := s.Labels["app.kubernetes.io/component"]
		checkName(t, s.Name)
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels[name]) || len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s selects %v, not the pods of %s (%v)", s.Name, s.Spec.Selector, name, podLabels[name])
		}
		var ports []string
		for _, p := range s.Spec.Ports {
			ports = append(ports, p.Name)
		}
		want := []string{"grpc", "http"}
		if name == "gateway" {
			want = []string{"http"}
		}
		if !slices.Equal(ports, want) {
			t.Errorf("Service %s ports %v, want %v", s.Name, ports, want)
		}
		// The peers dial each service at its Service's DNS name.
		if name != "gateway" {
			key := "MP_" + strings.ToUpper(name) + "_ADDR"
			if want := fmt.Sprintf("%s.%s.svc:9090", s.Name, r.namespace); cm.Data[key] != want {
				t.Errorf("ConfigMap %s = %q, want %q", key, cm.Data[key], want)
			}
		}
	}
	for _, k := range []string{"MP_GRPC_ADDR", "MP_HTTP_ADDR", "MP_LOG_LEVEL"} {
		if cm.Data[k] == "" {
			t.Errorf("ConfigMap has no %s", k)
		}
	}
	if tls != (cm.Data["MP_TLS_CERT"] != "" && cm.Data["MP_TLS_KEY"] != "" && cm.Data["MP_TLS_CA"] != "") {
		t.Errorf("ConfigMap's TLS settings %q %q %q, want them exactly with TLS", cm.Data["MP_TLS_CERT"], cm.Data["MP_TLS_KEY"], cm.Data["MP_TLS_CA"])
	}

	for _, p := range r.pdbs {
		name := p.Labels["app.kubernetes.io/component"]
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || !sel.Matches(podLabels[name]) || p.Spec.MaxUnavailable == nil {
			t.Errorf("PodDisruptionBudget %s: selector %v, maxUnavailable %v; want the pods of %s", p.Name, p.Spec.Selector, p.Spec.MaxUnavailable, name)
		}
	}

	// The migration Job: a pre-install and pre-upgrade hook, one container
	// per service running its binary with --migrate-only.
	if len(r.jobs) != 1 {
		t.Fatalf("%d Jobs, want the migration Job", len(r.jobs))
	}
	job := r.jobs[0]
	hooks := strings.Split(job.Annotations["helm.sh/hook"], ",")
	if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
		t.Errorf("Job %s hooks %q, want pre-install and pre-upgrade", job.Name, hooks)
	}
	jspec := job.Spec.Template.Spec
	if jspec.RestartPolicy != corev1.RestartPolicyNever || jspec.SecurityContext == nil || jspec.SecurityContext.RunAsNonRoot == nil || !*jspec.SecurityContext.RunAsNonRoot {
		t.Errorf("Job %s: restartPolicy %q, pod security %+v", job.Name, jspec.RestartPolicy, jspec.SecurityContext)
	}
	var migrated []string
	for _, c := range jspec.Containers {
		migrated = append(migrated, c.Name)
		if want := registry + "/" + c.Name + ":" + tag; c.Image != want || !slices.Equal(c.Args, []string{"--migrate-only"}) {
			t.Errorf("Job container %s runs %s %q, want %s --migrate-only", c.Name, c.Image, c.Args, want)
		}
		checkContainer(t, "Job container "+c.Name, c)
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DATABASE_URL" && e.ValueFrom != nil }) {
			t.Errorf("Job container %s has no DATABASE_URL from a Secret", c.Name)
		}
	}
	if !slices.Equal(migrated, services) {
		t.Errorf("Job migrates %v, want %v", migrated, services)
	}
	// What the Job reads must exist before the release's other resources:
	// an existing Secret, or a hook Secret made before it.
	for _, c := range jspec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			for _, s := range r.secrets {
				if s.Name == e.ValueFrom.SecretKeyRef.Name && s.Annotations["helm.sh/hook"] == "" {
					t.Errorf("Job container %s reads Secret %s, which is created after the pre-install hook", c.Name, s.Name)
				}
			}
		}
	}

	// NetworkPolicies: every pod of the release is selected; the gateway's
	// HTTP port is open from outside the release.
	if len(r.networkPolicies) != 2 {
		t.Fatalf("%d NetworkPolicies, want 2", len(r.networkPolicies))
	}
	for _, name := range components {
		selected := false
		for _, np := range r.networkPolicies {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				t.Fatal(err)
			}
			selected = selected || sel.Matches(podLabels[name])
		}
		if !selected {
			t.Errorf("no NetworkPolicy selects the pods of %s", name)
		}
	}

	for _, sm := range r.serviceMonitors {
		if len(sm.Spec.Endpoints) == 0 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %s endpoints %+v, want /metrics on port http", sm.Name, sm.Spec.Endpoints)
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		for _, s := range r.services {
			if err != nil || !sel.Matches(labels.Set(s.Labels)) {
				t.Errorf("ServiceMonitor %s does not select Service %s", sm.Name, s.Name)
			}
		}
	}
}

// checkContainer checks a container's security context.
func checkContainer(t *testing.T, what string, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: security context %+v, want a read-only root, no privilege escalation, every capability dropped", what, sc)
	}
}

// checkProbe checks that probe GETs path on a port the container names.
func checkProbe(t *testing.T, deployment, kind string, p *corev1.Probe, path string, ports []corev1.ContainerPort) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("Deployment %s: no %s probe over HTTP", deployment, kind)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.StrVal != "http" ||
		!slices.ContainsFunc(ports, func(cp corev1.ContainerPort) bool { return cp.Name == "http" }) {
		t.Errorf("Deployment %s: %s probe GETs %s on %v, want %s on the container's port http", deployment, kind, p.HTTPGet.Path, p.HTTPGet.Port, path)
	}
}

// checkName checks that a name is a DNS label, as Services' names must be.
func checkName(t *testing.T, name string) {
	t.Helper()
	if len(name) > 63 || !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(name) {
		t.Errorf("name %q is not a DNS label", name)
	}
}
