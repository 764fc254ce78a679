package main

// Chart unit tests: render helm/drover with `helm template` and assert the
// fields that matter. tests/chart/run sets HELM (the pinned helm), CHART
// (helm/drover), DROVERCTL (a built droverctl) and DOCS (docs/kubernetes.md).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set; run tests/chart/run", name)
	}
	return v
}

// render runs helm template with the given values files (relative to the
// chart) and --set pairs; it fails the test on a helm error.
func render(t *testing.T, files []string, sets ...string) []Object {
	t.Helper()
	out, err := renderErr(t, files, sets...)
	if err != nil {
		t.Fatalf("helm template %v %v: %v\n%s", files, sets, err, out)
	}
	objs, problems := Decode("render", []byte(out))
	if len(problems) > 0 {
		t.Fatalf("rendered objects do not decode:\n%s", strings.Join(problems, "\n"))
	}
	return objs
}

func renderErr(t *testing.T, files []string, sets ...string) (string, error) {
	t.Helper()
	chart := env(t, "CHART")
	args := []string{"template", "rel", chart, "--namespace", "tasks",
		"--kube-version", KubeVersion}
	for _, f := range files {
		args = append(args, "-f", filepath.Join(chart, f))
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(env(t, "HELM"), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stderr.String(), err
	}
	return stdout.String(), nil
}

func ciFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(env(t, "CHART"), "ci", "*-values.yaml"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no ci/*-values.yaml")
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.Join("ci", filepath.Base(f)))
	}
	return out
}

func find[T any](objs []Object, name string) *T {
	for _, o := range objs {
		if v, ok := any(o.Obj).(*T); ok {
			if m, _ := metaOf(o.Obj); m.GetName() == name {
				return v
			}
		}
	}
	return nil
}

func all[T any](objs []Object) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := any(o.Obj).(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// pods: every pod spec rendered (Deployments, Job, test Pod), by name.
func pods(objs []Object) map[string]*corev1.PodSpec {
	p := map[string]*corev1.PodSpec{}
	for _, o := range objs {
		switch x := o.Obj.(type) {
		case *appsv1.Deployment:
			p[x.Name] = &x.Spec.Template.Spec
		case *batchv1.Job:
			p[x.Name] = &x.Spec.Template.Spec
		case *corev1.Pod:
			p[x.Name] = &x.Spec
		}
	}
	return p
}

// droverConfig parses the drover.yaml of a rendered ConfigMap.
func droverConfig(t *testing.T, cm *corev1.ConfigMap) map[string]any {
	t.Helper()
	if cm == nil {
		t.Fatal("ConfigMap not rendered")
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["drover.yaml"]), &cfg); err != nil {
		t.Fatalf("drover.yaml: %v", err)
	}
	return cfg
}

func TestLabels(t *testing.T) {
	want := []string{"app.kubernetes.io/name", "app.kubernetes.io/instance",
		"app.kubernetes.io/version", "app.kubernetes.io/managed-by",
		"app.kubernetes.io/part-of", "helm.sh/chart"}
	for _, f := range ciFiles(t) {
		objs := render(t, []string{f})
		for _, o := range objs {
			m, _ := metaOf(o.Obj)
			for _, k := range want {
				if m.GetLabels()[k] == "" {
					t.Errorf("%s: %s %s has no label %s", f, o.GVK.Kind, m.GetName(), k)
				}
			}
			if m.GetLabels()["app.kubernetes.io/instance"] != "rel" || m.GetLabels()["app.kubernetes.io/name"] != "drover" {
				t.Errorf("%s: %s %s: wrong name/instance labels %v", f, o.GVK.Kind, m.GetName(), m.GetLabels())
			}
			if o.GVK.Kind != "ConfigMap" && o.GVK.Kind != "ServiceAccount" && m.GetLabels()["app.kubernetes.io/component"] == "" {
				t.Errorf("%s: %s %s has no component label", f, o.GVK.Kind, m.GetName())
			}
			if m.GetNamespace() != "tasks" {
				t.Errorf("%s: %s %s: namespace %q, want the release's", f, o.GVK.Kind, m.GetName(), m.GetNamespace())
			}
		}
		// Services and PDBs select exactly their component's pods.
		for _, d := range all[appsv1.Deployment](objs) {
			comp := d.Spec.Template.Labels["app.kubernetes.io/component"]
			svc := find[corev1.Service](objs, "rel-drover-"+comp+"-metrics")
			if svc == nil {
				t.Errorf("%s: no metrics Service for %s", f, comp)
			} else if fmt.Sprint(svc.Spec.Selector) != fmt.Sprint(d.Spec.Selector.MatchLabels) {
				t.Errorf("%s: Service %s selects %v, Deployment %v", f, svc.Name, svc.Spec.Selector, d.Spec.Selector.MatchLabels)
			}
		}
	}
}

func TestProbesAndPorts(t *testing.T) {
	objs := render(t, nil)
	w := find[appsv1.Deployment](objs, "rel-drover-worker")
	c := w.Spec.Template.Spec.Containers[0]
	if c.Ports[0].ContainerPort != 9464 || c.Ports[0].Name != "http" {
		t.Errorf("worker port %+v, want http 9464", c.Ports)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.LivenessProbe.HTTPGet.Port.StrVal != "http" {
		t.Errorf("worker liveness probe %+v", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Port.StrVal != "http" {
		t.Errorf("worker readiness probe %+v", c.ReadinessProbe)
	}
	co := find[appsv1.Deployment](objs, "rel-drover-coordinator")
	cc := co.Spec.Template.Spec.Containers[0]
	if *co.Spec.Replicas != 2 || cc.Ports[0].ContainerPort != 9465 {
		t.Errorf("coordinator: %d replicas, port %d; want 2 and 9465", *co.Spec.Replicas, cc.Ports[0].ContainerPort)
	}
	if cc.LivenessProbe == nil || cc.LivenessProbe.HTTPGet.Path != "/healthz" || cc.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("coordinator probes %+v %+v", cc.LivenessProbe, cc.ReadinessProbe)
	}
	// the worker's port in drover.yaml is the port probed
	cfg := droverConfig(t, find[corev1.ConfigMap](objs, "rel-drover"))
	wc := cfg["worker"].(map[string]any)
	if fmt.Sprint(wc["http_port"]) != "9464" || wc["http_host"] != "0.0.0.0" {
		t.Errorf("drover.yaml worker http %v:%v", wc["http_host"], wc["http_port"])
	}
	objs = render(t, nil, "worker.httpPort=9999", "coordinator.httpPort=9998")
	w = find[appsv1.Deployment](objs, "rel-drover-worker")
	if w.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 9999 {
		t.Errorf("worker.httpPort not used")
	}
	if fmt.Sprint(droverConfig(t, find[corev1.ConfigMap](objs, "rel-drover"))["worker"].(map[string]any)["http_port"]) != "9999" {
		t.Errorf("worker.httpPort not rendered as worker.http_port")
	}
	if find[corev1.Service](objs, "rel-drover-coordinator-metrics").Spec.Ports[0].Port != 9998 {
		t.Errorf("coordinator.httpPort not used by its Service")
	}
	objs = render(t, []string{"ci/monitoring-values.yaml"})
	if cc := find[appsv1.Deployment](objs, "rel-drover-coordinator").Spec.Template.Spec.Containers[0]; cc.LivenessProbe != nil {
		t.Errorf("coordinator.probes.enabled=false still probes")
	}
}

// Every coordinator serves the API on coordinator.apiPort, behind its own
// Service; 0 takes the port, the Service and the config keys away.
func TestApiServedByTheCoordinators(t *testing.T) {
	objs := render(t, nil)
	cc := find[appsv1.Deployment](objs, "rel-drover-coordinator").Spec.Template.Spec.Containers[0]
	if len(cc.Ports) != 2 || cc.Ports[1].Name != "api" || cc.Ports[1].ContainerPort != 8470 {
		t.Errorf("coordinator ports %+v, want http and api 8470", cc.Ports)
	}
	svc := find[corev1.Service](objs, "rel-drover-api")
	if svc == nil || svc.Spec.Ports[0].Port != 8470 || svc.Spec.Ports[0].TargetPort.StrVal != "api" ||
		svc.Spec.Selector["app.kubernetes.io/component"] != "coordinator" {
		t.Fatalf("API Service %+v", svc)
	}
	api := droverConfig(t, find[corev1.ConfigMap](objs, "rel-drover"))["api"].(map[string]any)
	if fmt.Sprint(api["port"]) != "8470" || api["host"] != "0.0.0.0" {
		t.Errorf("drover.yaml api %v:%v, want 0.0.0.0:8470", api["host"], api["port"])
	}
	objs = render(t, nil, "coordinator.apiPort=0")
	if find[corev1.Service](objs, "rel-drover-api") != nil {
		t.Errorf("coordinator.apiPort=0 still renders the API Service")
	}
	if n := len(find[appsv1.Deployment](objs, "rel-drover-coordinator").Spec.Template.Spec.Containers[0].Ports); n != 1 {
		t.Errorf("coordinator.apiPort=0: %d ports", n)
	}
	if _, ok := droverConfig(t, find[corev1.ConfigMap](objs, "rel-drover"))["api"]; ok {
		t.Errorf("coordinator.apiPort=0 still writes api: in drover.yaml")
	}
}

func TestSecurityContext(t *testing.T) {
	for _, f := range ciFiles(t) {
		for name, p := range pods(render(t, []string{f})) {
			sc := p.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
				sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: %s: pod securityContext %+v", f, name, sc)
			}
			if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
				t.Errorf("%s: %s mounts a service account token", f, name)
			}
			tmp := false
			for _, v := range p.Volumes {
				tmp = tmp || (v.Name == "tmp" && v.EmptyDir != nil)
			}
			for _, c := range p.Containers {
				s := c.SecurityContext
				if s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation ||
					s.ReadOnlyRootFilesystem == nil || !*s.ReadOnlyRootFilesystem ||
					s.RunAsNonRoot == nil || !*s.RunAsNonRoot || s.Capabilities == nil ||
					fmt.Sprint(s.Capabilities.Drop) != "[ALL]" || len(s.Capabilities.Add) > 0 ||
					s.SeccompProfile == nil || s.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s: %s/%s: container securityContext %+v", f, name, c.Name, s)
				}
				mounted := false
				for _, m := range c.VolumeMounts {
					mounted = mounted || (m.Name == "tmp" && m.MountPath == "/tmp")
				}
				if !tmp || !mounted {
					t.Errorf("%s: %s/%s: no writable /tmp emptyDir", f, name, c.Name)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s: %s/%s: no cpu request or memory limit", f, name, c.Name)
				}
			}
		}
	}
}

func TestKedaScalesOnTheWorkerGroup(t *testing.T) {
	objs := render(t, []string{"ci/keda-values.yaml"})
	cfg := droverConfig(t, find[corev1.ConfigMap](objs, "rel-drover"))
	group := cfg["worker"].(map[string]any)["group"]
	kafka := cfg["kafka"].(map[string]any)
	so := find[kedav1alpha1.ScaledObject](objs, "rel-drover-worker")
	if so == nil {
		t.Fatal("no ScaledObject")
	}
	if len(all[autoscalingv2.HorizontalPodAutoscaler](objs)) != 0 {
		t.Error("an HPA is rendered next to the ScaledObject")
	}
	if d := find[appsv1.Deployment](objs, "rel-drover-worker"); d.Spec.Replicas != nil {
		t.Error("the worker Deployment sets replicas although KEDA owns them")
	}
	if so.Spec.ScaleTargetRef.Name != "rel-drover-worker" {
		t.Errorf("scaleTargetRef %+v", so.Spec.ScaleTargetRef)
	}
	if fmt.Sprint(*so.Spec.MaxReplicaCount) != fmt.Sprint(kafka["partitions"]) {
		t.Errorf("maxReplicaCount %d, want the partition count %v", *so.Spec.MaxReplicaCount, kafka["partitions"])
	}
	var topics []string
	for _, tr := range so.Spec.Triggers {
		if tr.Type != "kafka" {
			t.Errorf("trigger type %q", tr.Type)
		}
		if tr.Metadata["consumerGroup"] != group {
			t.Errorf("trigger %s: consumerGroup %q, drover.yaml worker.group %q", tr.Name, tr.Metadata["consumerGroup"], group)
		}
		if tr.Metadata["bootstrapServers"] != kafka["brokers"] {
			t.Errorf("trigger %s: bootstrapServers %q, drover.yaml %q", tr.Name, tr.Metadata["bootstrapServers"], kafka["brokers"])
		}
		if tr.Metadata["lagThreshold"] != "100" || tr.Metadata["activationLagThreshold"] != "5" {
			t.Errorf("trigger %s: thresholds %v", tr.Name, tr.Metadata)
		}
		topics = append(topics, tr.Metadata["topic"])
	}
	if fmt.Sprint(topics) != "[drover.tasks.high drover.tasks.normal drover.tasks.low]" {
		t.Errorf("trigger topics %v", topics)
	}
	// the cap: more replicas than partitions is refused unless allowed
	if out, err := renderErr(t, []string{"ci/keda-values.yaml"}, "autoscaling.keda.maxReplicas=13"); err == nil || !strings.Contains(out, "more than the 12 partitions") {
		t.Errorf("maxReplicas 13 > 12 partitions was accepted: %s", out)
	}
	objs = render(t, []string{"ci/keda-values.yaml"}, "autoscaling.keda.maxReplicas=20", "autoscaling.keda.allowMoreReplicasThanPartitions=true")
	if so := find[kedav1alpha1.ScaledObject](objs, "rel-drover-worker"); *so.Spec.MaxReplicaCount != 20 || so.Spec.Triggers[0].Metadata["allowIdleConsumers"] != "true" {
		t.Errorf("allowMoreReplicasThanPartitions not honoured")
	}
	// scale to zero with a band left unwatched would strand its tasks
	if out, err := renderErr(t, []string{"ci/keda-values.yaml"}, "autoscaling.keda.bands={high}"); err == nil || !strings.Contains(out, "minReplicas 0") {
		t.Errorf("minReplicas 0 with one band was accepted: %s", out)
	}
	// default: an HPA on CPU, capped at the partitions
	objs = render(t, nil)
	hpa := find[autoscalingv2.HorizontalPodAutoscaler](objs, "rel-drover-worker")
	if hpa == nil || hpa.Spec.MaxReplicas != 6 || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("default HPA %+v", hpa)
	}
}

func TestWorkerGraceOutlastsDrain(t *testing.T) {
	for _, c := range []struct {
		set  []string
		want int64
	}{
		{nil, 45},
		{[]string{"config.worker.shutdown_grace=1m30s"}, 105},
		{[]string{"config.worker.shutdown_grace=2h"}, 7215},
		{[]string{"config.worker.shutdown_grace=1500"}, 17},
		{[]string{"config.worker.shutdown_grace=250ms", "worker.preStopSleepSeconds=5"}, 21},
	} {
		objs := render(t, nil, c.set...)
		d := find[appsv1.Deployment](objs, "rel-drover-worker")
		if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != c.want {
			t.Errorf("%v: terminationGracePeriodSeconds %d, want %d", c.set, got, c.want)
		}
	}
	objs := render(t, nil, "worker.preStopSleepSeconds=5")
	c := find[appsv1.Deployment](objs, "rel-drover-worker").Spec.Template.Spec.Containers[0]
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 5 {
		t.Errorf("preStop sleep %+v", c.Lifecycle)
	}
	if _, err := renderErr(t, nil, "config.worker.shutdown_grace=soon"); err == nil {
		t.Error("a bad shutdown_grace rendered")
	}
}

// TestConfigMapPassesConfigCheck: drover itself accepts each rendered
// drover.yaml, with the environment the worker container gets (secret
// references stand in as placeholder values).
func TestConfigMapPassesConfigCheck(t *testing.T) {
	ctl := env(t, "DROVERCTL")
	for _, f := range ciFiles(t) {
		objs := render(t, []string{f})
		cm := find[corev1.ConfigMap](objs, "rel-drover")
		hook := find[corev1.ConfigMap](objs, "rel-drover-topics")
		if hook == nil || hook.Data["drover.yaml"] == "" || !strings.Contains(cm.Data["drover.yaml"], hook.Data["drover.yaml"]) {
			t.Errorf("%s: the topics hook's ConfigMap differs from the release's", f)
		}
		path := filepath.Join(t.TempDir(), "drover.yaml")
		if err := os.WriteFile(path, []byte(cm.Data["drover.yaml"]), 0o600); err != nil {
			t.Fatal(err)
		}
		for name, p := range pods(objs) {
			for _, c := range p.Containers {
				environ := []string{"PATH=" + os.Getenv("PATH")}
				for _, e := range c.Env {
					v := e.Value
					if e.ValueFrom != nil {
						v = "from-secret-" + e.Name
					}
					if e.Name != "DROVER_CONFIG" {
						environ = append(environ, e.Name+"="+v)
					}
				}
				cmd := exec.Command(ctl, "config", "check", path)
				cmd.Env = environ
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("%s: %s/%s: droverctl config check: %v\n%s", f, name, c.Name, err, out)
				} else if strings.Contains(string(out), "from-secret-DROVER_REDIS_PASSWORD") ||
					strings.Contains(string(out), "from-secret-DROVER_KAFKA_PROPERTY_SASL_PASSWORD") ||
					strings.Contains(string(out), "from-secret-DROVER_WORKER_METRICS_TOKEN") {
					t.Errorf("%s: a password is printed by config check:\n%s", f, out)
				} else if strings.Contains(f, "secrets") && !strings.Contains(string(out), `"sasl.username": "from-secret-DROVER_KAFKA_PROPERTY_SASL_USERNAME"`) {
					t.Errorf("%s: the SASL user name from the environment is not in effect:\n%s", f, out)
				}
			}
		}
	}
}

func TestSecretsByReference(t *testing.T) {
	objs := render(t, []string{"ci/external-secrets-values.yaml"})
	cm := find[corev1.ConfigMap](objs, "rel-drover")
	if strings.Contains(cm.Data["drover.yaml"], "password") {
		t.Errorf("a password is in the ConfigMap:\n%s", cm.Data["drover.yaml"])
	}
	want := map[string]string{
		"DROVER_REDIS_PASSWORD":               "drover-redis/password",
		"DROVER_KAFKA_PROPERTY_SASL_USERNAME": "drover-kafka-sasl/username",
		"DROVER_KAFKA_PROPERTY_SASL_PASSWORD": "drover-kafka-sasl/password",
	}
	for name, p := range pods(objs) {
		for _, c := range p.Containers {
			got := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					got[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s/%s: secret env %v, want %v", name, c.Name, got, want)
			}
		}
		if strings.HasSuffix(name, "-worker") && p.ServiceAccountName != "drover" {
			t.Errorf("%s: serviceAccountName %q, want the existing drover", name, p.ServiceAccountName)
		}
	}
	if len(all[corev1.ServiceAccount](objs)) != 0 {
		t.Error("a ServiceAccount is created with serviceAccount.create=false")
	}
	// defaults: no secret env at all
	for name, p := range pods(render(t, nil)) {
		for _, e := range p.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("%s: unexpected env %s from a Secret", name, e.Name)
			}
		}
	}
}

// The daemons join their consumer groups as static members named after
// their pod (--id $(POD_NAME), POD_NAME from metadata.name), so a restarted
// container takes its partitions back at once.
func TestStaticMemberIdIsThePodName(t *testing.T) {
	objs := render(t, nil)
	for _, name := range []string{"rel-drover-worker", "rel-drover-coordinator"} {
		c := find[appsv1.Deployment](objs, name).Spec.Template.Spec.Containers[0]
		if len(c.Args) < 2 || c.Args[0] != "--id" || c.Args[1] != "$(POD_NAME)" {
			t.Errorf("%s: args %v, want --id $(POD_NAME) first", name, c.Args)
		}
		found := false
		for _, e := range c.Env {
			if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
				e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no env POD_NAME from metadata.name", name)
		}
	}
}

func TestChecksumRestartsPods(t *testing.T) {
	sum := func(sets ...string) (string, string) {
		objs := render(t, nil, sets...)
		return find[appsv1.Deployment](objs, "rel-drover-worker").Spec.Template.Annotations["checksum/config"],
			find[appsv1.Deployment](objs, "rel-drover-coordinator").Spec.Template.Annotations["checksum/config"]
	}
	w1, c1 := sum()
	w2, c2 := sum("config.worker.concurrency=9")
	w3, _ := sum("worker.replicaCount=7")
	if w1 == "" || w1 != c1 || w2 != c2 {
		t.Errorf("worker and coordinator checksums differ: %s %s / %s %s", w1, c1, w2, c2)
	}
	if w1 == w2 {
		t.Error("a config change leaves the checksum as it was")
	}
	if w1 != w3 {
		t.Error("a change outside the config changes the checksum")
	}
}

func TestHooks(t *testing.T) {
	objs := render(t, nil)
	job := find[batchv1.Job](objs, "rel-drover-topics")
	if job == nil {
		t.Fatal("no topics Job")
	}
	a := job.Annotations
	if a["helm.sh/hook"] != "pre-install,pre-upgrade" || !strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
		t.Errorf("topics Job hook annotations %v", a)
	}
	cm := find[corev1.ConfigMap](objs, "rel-drover-topics")
	if cm.Annotations["helm.sh/hook"] != a["helm.sh/hook"] || cm.Annotations["helm.sh/hook-weight"] >= a["helm.sh/hook-weight"] && cm.Annotations["helm.sh/hook-weight"] != "-10" {
		t.Errorf("the Job's ConfigMap is not an earlier hook: %v", cm.Annotations)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if strings.Join(c.Command, " ") != "/usr/bin/droverctl topics ensure" {
		t.Errorf("topics Job runs %v", c.Command)
	}
	if job.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "rel-drover-topics" {
		t.Errorf("topics Job reads %s", job.Spec.Template.Spec.Volumes[0].ConfigMap.Name)
	}
	if job.Spec.Template.Spec.ServiceAccountName != "" {
		t.Errorf("the pre-install Job uses the ServiceAccount the release has not created yet")
	}
	pod := find[corev1.Pod](objs, "rel-drover-test-submit")
	if pod == nil || pod.Annotations["helm.sh/hook"] != "test" {
		t.Fatalf("no helm test Pod")
	}
	cmd := strings.Join(pod.Spec.Containers[0].Command, " ")
	if !regexp.MustCompile(`^/usr/bin/droverctl task submit --handler echo --payload \{"helm_test":"rel"\} --wait 2m$`).MatchString(cmd) {
		t.Errorf("helm test runs %q", cmd)
	}
	if len(render(t, nil, "topics.ensure=false")) != len(objs)-2 {
		t.Error("topics.ensure=false still renders the hook")
	}
	if out, err := renderErr(t, nil, "tests.handler=nosuch"); err == nil || !strings.Contains(out, "not in config.handlers") {
		t.Errorf("a test handler missing from config.handlers was accepted: %s", out)
	}
}

// With secrets.metricsToken, both daemons read the /metrics token from the
// Secret and the ServiceMonitors send it as a bearer token (issue 17).
func TestMetricsToken(t *testing.T) {
	objs := render(t, []string{"ci/monitoring-values.yaml"})
	for name, p := range pods(objs) {
		got := map[string]string{}
		for _, e := range p.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				got[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		for _, v := range []string{"DROVER_WORKER_METRICS_TOKEN", "DROVER_COORDINATOR_METRICS_TOKEN"} {
			if got[v] != "drover-metrics/metrics-token" {
				t.Errorf("%s: %s from %q, want drover-metrics/metrics-token", name, v, got[v])
			}
		}
	}
	for _, sm := range all[monitoringv1.ServiceMonitor](objs) {
		a := sm.Spec.Endpoints[0].Authorization
		if a == nil || a.Type != "Bearer" || a.Credentials == nil ||
			a.Credentials.Name != "drover-metrics" || a.Credentials.Key != "metrics-token" {
			t.Errorf("%s: endpoint authorization %+v, want Bearer from drover-metrics/metrics-token", sm.Name, a)
		}
	}
	for _, sm := range all[monitoringv1.ServiceMonitor](render(t, nil, "serviceMonitor.enabled=true")) {
		if sm.Spec.Endpoints[0].Authorization != nil {
			t.Errorf("%s: authorization without a metrics token", sm.Name)
		}
	}
}

func TestOptionalObjects(t *testing.T) {
	count := func(objs []Object) map[string]int {
		m := map[string]int{}
		for _, o := range objs {
			m[o.GVK.Kind]++
		}
		return m
	}
	d := count(render(t, nil))
	if d["ServiceMonitor"]+d["ScaledObject"] != 0 || d["NetworkPolicy"] != 2 || d["PodDisruptionBudget"] != 2 || d["HorizontalPodAutoscaler"] != 1 || d["Service"] != 3 {
		t.Errorf("defaults render %v", d)
	}
	if off := count(render(t, nil, "networkPolicy.enabled=false")); off["NetworkPolicy"] != 0 {
		t.Errorf("networkPolicy.enabled=false renders %v", off)
	}
	m := count(render(t, []string{"ci/monitoring-values.yaml"}))
	if m["ServiceMonitor"] != 2 || m["NetworkPolicy"] != 2 {
		t.Errorf("monitoring renders %v", m)
	}
	n := count(render(t, nil, "coordinator.enabled=false"))
	if n["Deployment"] != 1 || n["PodDisruptionBudget"] != 1 || n["Service"] != 1 {
		t.Errorf("coordinator.enabled=false renders %v", n)
	}
	objs := render(t, []string{"ci/monitoring-values.yaml"})
	if img := find[appsv1.Deployment](objs, "rel-drover-worker").Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, "registry.example.com/platform/drover@sha256:") {
		t.Errorf("image %s", img)
	}
}

// TestValuesDocumented: every value has a `# -- ` comment, the schema
// lists exactly the keys of values.yaml, every config key the schema
// accepts is one drover knows, and docs/kubernetes.md holds the generated
// reference (DROVER_UPDATE_DOCS=1 rewrites it).
func TestValuesDocumented(t *testing.T) {
	chart := env(t, "CHART")
	values, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := ValuesDoc(values)
	if err != nil {
		t.Fatal(err)
	}
	docsPath := env(t, "DOCS")
	docs, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- values:begin -->\n", "<!-- values:end -->"
	i, j := bytes.Index(docs, []byte(begin)), bytes.Index(docs, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", docsPath, begin, end)
	}
	fresh := string(docs[:i+len(begin)]) + table + string(docs[j:])
	if fresh != string(docs) {
		if os.Getenv("DROVER_UPDATE_DOCS") != "" {
			if err := os.WriteFile(docsPath, []byte(fresh), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("%s: the values reference is stale; run tests/chart/run with DROVER_UPDATE_DOCS=1", docsPath)
		}
	}

	var vals map[string]any
	if err := yaml.Unmarshal(values, &vals); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	raw, err := os.ReadFile(filepath.Join(chart, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(prefix string, v map[string]any, s map[string]any)
	walk = func(prefix string, v map[string]any, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		if s["additionalProperties"] != false && props != nil {
			t.Errorf("values.schema.json: %s allows unknown keys", strings.TrimSuffix(prefix, "."))
		}
		for k, sub := range v {
			ps, ok := props[k].(map[string]any)
			if !ok {
				missing = append(missing, prefix+k)
				continue
			}
			if m, ok := sub.(map[string]any); ok && ps["properties"] != nil {
				walk(prefix+k+".", m, ps)
			}
		}
	}
	walk("", vals, schema)
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("values.yaml keys the schema does not list: %v", missing)
	}

	// The schema of `config:` is derived from drover's own reference, so
	// a key drover gains (or loses) shows up here; DROVER_UPDATE_DOCS=1
	// writes it into values.schema.json.
	ref, err := exec.Command(env(t, "DROVERCTL"), "config", "reference").Output()
	if err != nil {
		t.Fatalf("droverctl config reference: %v", err)
	}
	want, err := ConfigSchema(string(ref))
	if err != nil {
		t.Fatal(err)
	}
	var wantNorm any
	b, _ := json.Marshal(want)
	_ = json.Unmarshal(b, &wantNorm)
	props := schema["properties"].(map[string]any)
	if !reflect.DeepEqual(props["config"], wantNorm) {
		if os.Getenv("DROVER_UPDATE_DOCS") != "" {
			props["config"] = wantNorm
			out, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(chart, "values.schema.json"), append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("values.schema.json: config is not what `droverctl config reference` says (drover's keys changed?); run DROVER_UPDATE_DOCS=1 tests/chart/run")
		}
	}
}

// TestNotes renders NOTES.txt (helm template does not) by wrapping it in a
// ConfigMap in a copy of the chart, and checks it tells how to submit a
// first task, from a pod that exists.
func TestNotes(t *testing.T) {
	chart := env(t, "CHART")
	dir := filepath.Join(t.TempDir(), "drover")
	if err := exec.Command("cp", "-r", chart, dir).Run(); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "templates", "NOTES.txt"))
	wrapped := "{{- define \"test.notes\" -}}\n" + string(notes) + "{{- end -}}\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n" +
		"    {{- include \"test.notes\" . | nindent 4 }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "notes.yaml"), []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		sets []string
		want []string
	}{
		{"ci/defaults-values.yaml", nil, []string{
			"exec deploy/rel-drover-coordinator -- \\\n    droverctl task submit --handler echo",
			"HPA on CPU, 2 to 6 replicas", "helm test -n tasks rel"}},
		{"ci/keda-values.yaml", nil, []string{
			`KEDA, 0 to 12 replicas on the lag of consumer group "payments-workers"`}},
		{"ci/defaults-values.yaml", []string{"coordinator.enabled=false"}, []string{
			"exec deploy/rel-drover-worker -- \\\n    droverctl task submit"}},
	} {
		args := []string{"template", "rel", dir, "-n", "tasks", "--kube-version", KubeVersion,
			"-f", filepath.Join(chart, c.file), "--show-only", "templates/notes.yaml"}
		for _, s := range c.sets {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(env(t, "HELM"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: NOTES.txt does not render: %v\n%s", c.file, err, out)
		}
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(out, &cm); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(cm.Data["notes"], w) {
				t.Errorf("%s %v: NOTES.txt lacks %q:\n%s", c.file, c.sets, w, cm.Data["notes"])
			}
		}
	}
}

// TestNetworkPolicyDefaults: on by default; the metrics/health port of
// both and the coordinators' API port open to any source, each narrowed by
// its own selectors; egress to DNS, Kafka and Redis only.
func TestNetworkPolicyDefaults(t *testing.T) {
	ports := func(np *networkingv1.NetworkPolicy) map[string]int {
		m := map[string]int{}
		for _, r := range np.Spec.Ingress {
			for _, p := range r.Ports {
				m[p.Port.String()] = len(r.From)
			}
		}
		return m
	}
	objs := render(t, nil)
	w := find[networkingv1.NetworkPolicy](objs, "rel-drover-worker")
	c := find[networkingv1.NetworkPolicy](objs, "rel-drover-coordinator")
	if got := ports(w); len(got) != 1 || got["http"] != 0 {
		t.Errorf("worker ingress %v, want http from anywhere", got)
	}
	if got := ports(c); len(got) != 2 || got["http"] != 0 || got["api"] != 0 {
		t.Errorf("coordinator ingress %v, want http and api from anywhere", got)
	}
	if len(w.Spec.Egress) != 2 {
		t.Errorf("worker egress %+v, want DNS and Kafka/Redis", w.Spec.Egress)
	}
	objs = render(t, nil, "networkPolicy.apiNamespaceSelector.team=shop",
		"networkPolicy.metricsPodSelector.app=prometheus")
	c = find[networkingv1.NetworkPolicy](objs, "rel-drover-coordinator")
	for _, r := range c.Spec.Ingress {
		if len(r.From) != 1 {
			t.Fatalf("coordinator ingress rule %+v, want one source", r)
		}
		f := r.From[0]
		switch r.Ports[0].Port.String() {
		case "api":
			if f.NamespaceSelector == nil || f.NamespaceSelector.MatchLabels["team"] != "shop" || f.PodSelector != nil {
				t.Errorf("api from %+v", f)
			}
		case "http":
			if f.PodSelector == nil || f.PodSelector.MatchLabels["app"] != "prometheus" || f.NamespaceSelector != nil {
				t.Errorf("http from %+v", f)
			}
		}
	}
}
