package main

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// served lists the group/versions Kubernetes KubeVersion serves that a
// chart may use (no deprecated or removed betas), plus the CRD versions of
// the KEDA and Prometheus-operator releases in go.mod.
var served = map[string]bool{
	"v1": true, "apps/v1": true, "batch/v1": true, "policy/v1": true,
	"autoscaling/v2": true, "networking.k8s.io/v1": true,
	"rbac.authorization.k8s.io/v1": true,
	"keda.sh/v1alpha1": true, "monitoring.coreos.com/v1": true,
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme,
		kedav1alpha1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

var docSep = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// Object is one decoded manifest: its typed value and where it came from.
type Object struct {
	Source string // "# Source:" comment of helm template, if any
	GVK    schema.GroupVersionKind
	Obj    runtime.Object
	Raw    []byte // JSON
}

// Decode splits a multi-document YAML stream and strictly decodes every
// non-empty document. Problems are returned, one line each.
func Decode(name string, data []byte) ([]Object, []string) {
	var objs []Object
	var problems []string
	for i, doc := range docSep.Split(string(data), -1) {
		src := fmt.Sprintf("%s: document %d", name, i)
		if m := regexp.MustCompile(`(?m)^# Source: (.*)$`).FindStringSubmatch(doc); m != nil {
			src = fmt.Sprintf("%s: %s", name, m[1])
		}
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		raw, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", src, err))
			continue
		}
		var tm metav1.TypeMeta
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &tm); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", src, err))
			continue
		}
		if tm.APIVersion == "" || tm.Kind == "" {
			problems = append(problems, fmt.Sprintf("%s: apiVersion and kind are required", src))
			continue
		}
		if !served[tm.APIVersion] {
			problems = append(problems, fmt.Sprintf("%s: %s %s: API version not served by Kubernetes %s (or not a stable one)", src, tm.APIVersion, tm.Kind, KubeVersion))
			continue
		}
		gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
		obj, err := scheme.New(gvk)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: unknown kind %s in %s", src, tm.Kind, tm.APIVersion))
			continue
		}
		strict, err := kjson.UnmarshalStrict(raw, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", src, tm.Kind, err))
			continue
		}
		for _, e := range strict {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", src, tm.Kind, e))
		}
		if len(strict) == 0 {
			objs = append(objs, Object{Source: src, GVK: gvk, Obj: obj, Raw: raw})
		}
	}
	return objs, problems
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// Validate decodes and then checks what the API server would refuse and
// the types alone do not catch.
func Validate(name string, data []byte) (int, []string) {
	objs, problems := Decode(name, data)
	seen := map[string]string{}
	for _, o := range objs {
		m, err := metaOf(o.Obj)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", o.Source, err))
			continue
		}
		id := o.GVK.Kind + "/" + m.GetNamespace() + "/" + m.GetName()
		if prev, dup := seen[id]; dup {
			problems = append(problems, fmt.Sprintf("%s: %s rendered twice (also %s)", o.Source, id, prev))
		}
		seen[id] = o.Source
		for _, p := range checkObject(o, m) {
			problems = append(problems, fmt.Sprintf("%s: %s %s: %s", o.Source, o.GVK.Kind, m.GetName(), p))
		}
	}
	return len(objs), problems
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	type metaObj interface{ GetObjectMeta() metav1.Object }
	if mo, ok := obj.(metaObj); ok {
		return mo.GetObjectMeta(), nil
	}
	return nil, fmt.Errorf("%T has no object metadata", obj)
}

func checkObject(o Object, m metav1.Object) []string {
	var p []string
	if m.GetName() == "" {
		p = append(p, "metadata.name is required")
	}
	nameCheck := validation.IsDNS1123Subdomain
	switch o.GVK.Kind {
	case "Service", "Pod", "Deployment", "Job":
		nameCheck = validation.IsDNS1123Label
	}
	for _, e := range nameCheck(m.GetName()) {
		p = append(p, "metadata.name: "+e)
	}
	p = append(p, checkLabels("metadata.labels", m.GetLabels())...)
	p = append(p, checkAnnotations(m.GetAnnotations())...)
	switch x := o.Obj.(type) {
	case *appsv1.Deployment:
		p = append(p, checkSelector(x.Spec.Selector, x.Spec.Template.Labels)...)
		p = append(p, checkPod("spec.template.spec", &x.Spec.Template.Spec, x.Spec.Template.Labels)...)
	case *batchv1.Job:
		p = append(p, checkPod("spec.template.spec", &x.Spec.Template.Spec, x.Spec.Template.Labels)...)
		if r := x.Spec.Template.Spec.RestartPolicy; r != corev1.RestartPolicyNever && r != corev1.RestartPolicyOnFailure {
			p = append(p, "a Job's restartPolicy must be Never or OnFailure")
		}
	case *corev1.Pod:
		p = append(p, checkPod("spec", &x.Spec, x.Labels)...)
	case *corev1.Service:
		if len(x.Spec.Ports) == 0 {
			p = append(p, "spec.ports: at least one port is required")
		}
		for i, port := range x.Spec.Ports {
			if port.Port < 1 || port.Port > 65535 {
				p = append(p, fmt.Sprintf("spec.ports[%d].port %d is out of range", i, port.Port))
			}
			for _, e := range validation.IsValidPortName(port.Name) {
				p = append(p, fmt.Sprintf("spec.ports[%d].name: %s", i, e))
			}
		}
	case *policyv1.PodDisruptionBudget:
		p = append(p, checkSelector(x.Spec.Selector, nil)...)
		if (x.Spec.MinAvailable == nil) == (x.Spec.MaxUnavailable == nil) {
			p = append(p, "exactly one of minAvailable and maxUnavailable is required")
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if x.Spec.MaxReplicas < 1 || (x.Spec.MinReplicas != nil && *x.Spec.MinReplicas > x.Spec.MaxReplicas) {
			p = append(p, "need 1 <= minReplicas <= maxReplicas")
		}
		if x.Spec.ScaleTargetRef.Name == "" || x.Spec.ScaleTargetRef.Kind == "" {
			p = append(p, "spec.scaleTargetRef needs kind and name")
		}
	case *kedav1alpha1.ScaledObject:
		if x.Spec.ScaleTargetRef == nil || x.Spec.ScaleTargetRef.Name == "" {
			p = append(p, "spec.scaleTargetRef.name is required")
		}
		if len(x.Spec.Triggers) == 0 {
			p = append(p, "spec.triggers: at least one is required")
		}
		for i, t := range x.Spec.Triggers {
			if t.Type == "" {
				p = append(p, fmt.Sprintf("spec.triggers[%d].type is required", i))
			}
		}
	case *networkingv1.NetworkPolicy:
		p = append(p, checkSelector(&x.Spec.PodSelector, nil)...)
	case *monitoringv1.ServiceMonitor:
		p = append(p, checkSelector(&x.Spec.Selector, nil)...)
		if len(x.Spec.Endpoints) == 0 {
			p = append(p, "spec.endpoints: at least one is required")
		}
	}
	return p
}

func checkLabels(where string, l map[string]string) []string {
	var p []string
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, e := range validation.IsQualifiedName(k) {
			p = append(p, fmt.Sprintf("%s key %q: %s", where, k, e))
		}
		for _, e := range validation.IsValidLabelValue(l[k]) {
			p = append(p, fmt.Sprintf("%s[%s]: %s", where, k, e))
		}
	}
	return p
}

func checkAnnotations(a map[string]string) []string {
	var p []string
	for k := range a {
		for _, e := range validation.IsQualifiedName(strings.ToLower(k)) {
			p = append(p, fmt.Sprintf("metadata.annotations key %q: %s", k, e))
		}
	}
	return p
}

func checkSelector(sel *metav1.LabelSelector, podLabels map[string]string) []string {
	if sel == nil {
		return []string{"a selector is required"}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return []string{"selector: " + err.Error()}
	}
	if podLabels != nil {
		if s.Empty() {
			return []string{"selector must not be empty"}
		}
		if !s.Matches(labels.Set(podLabels)) {
			return []string{"selector does not match the pod template's labels"}
		}
	}
	return nil
}

func checkPod(where string, spec *corev1.PodSpec, podLabels map[string]string) []string {
	var p []string
	p = append(p, checkLabels(where+" labels", podLabels)...)
	if len(spec.Containers) == 0 {
		p = append(p, where+".containers: at least one is required")
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		if vols[v.Name] {
			p = append(p, fmt.Sprintf("%s.volumes: %q twice", where, v.Name))
		}
		vols[v.Name] = true
	}
	names := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		cw := fmt.Sprintf("%s container %q", where, c.Name)
		for _, e := range validation.IsDNS1123Label(c.Name) {
			p = append(p, cw+": name: "+e)
		}
		if names[c.Name] {
			p = append(p, cw+": name used twice")
		}
		names[c.Name] = true
		if c.Image == "" {
			p = append(p, cw+": image is required")
		}
		ports := map[string]bool{}
		for _, port := range c.Ports {
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				p = append(p, fmt.Sprintf("%s: containerPort %d out of range", cw, port.ContainerPort))
			}
			if port.Name != "" {
				for _, e := range validation.IsValidPortName(port.Name) {
					p = append(p, cw+": port name: "+e)
				}
				ports[port.Name] = true
			}
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				p = append(p, fmt.Sprintf("%s: probe port %q is not a named port of the container", cw, probe.HTTPGet.Port.StrVal))
			}
		}
		for _, vm := range c.VolumeMounts {
			if !vols[vm.Name] {
				p = append(p, fmt.Sprintf("%s: volumeMount %q has no volume", cw, vm.Name))
			}
		}
		envs := map[string]bool{}
		for _, e := range c.Env {
			if envs[e.Name] {
				p = append(p, fmt.Sprintf("%s: env %s twice", cw, e.Name))
			}
			envs[e.Name] = true
			if e.ValueFrom != nil && e.Value != "" {
				p = append(p, fmt.Sprintf("%s: env %s has both value and valueFrom", cw, e.Name))
			}
		}
	}
	return p
}
