package main

// The PrometheusRule's alerts as rendered: what they name exists, they
// select this release's jobs, and values turn them on and off. Their
// PromQL and behaviour are checked by promtool in tests/chart/run.

import (
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

type alertRule struct{ Alert, Expr string }

// alertRules: the rules of the rendered PrometheusRules.
func alertRules(objs []Object) []alertRule {
	var rules []alertRule
	for _, pr := range all[monitoringv1.PrometheusRule](objs) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				rules = append(rules, alertRule{Alert: r.Alert, Expr: r.Expr.String()})
			}
		}
	}
	return rules
}

func alertNames(rules []alertRule) string {
	var n []string
	for _, r := range rules {
		n = append(n, r.Alert)
	}
	return strings.Join(n, " ")
}

// Every alert expression names registered metrics and labels only, and
// the selectors match the jobs of this release's metrics Services.
func TestAlertRulesUseRegisteredMetrics(t *testing.T) {
	metrics, labels := registered(t)
	objs := render(t, nil, "prometheusRule.enabled=true")
	rules := alertRules(objs)
	if len(rules) != 9 {
		t.Fatalf("prometheusRule.enabled renders %d rules: %s", len(rules), alertNames(rules))
	}
	services := map[string]bool{}
	for _, s := range all[corev1.Service](objs) {
		services[s.Name] = true
	}
	jobRe := regexp.MustCompile(`job="([^"]*)"`)
	for _, r := range rules {
		for _, bad := range unknownNames(r.Expr, metrics, labels) {
			t.Errorf("%s: unknown %s in %s", r.Alert, bad, r.Expr)
		}
		for _, m := range jobRe.FindAllStringSubmatch(r.Expr, -1) {
			if !services[m[1]] {
				t.Errorf("%s: job %q is no Service of the release", r.Alert, m[1])
			}
		}
	}
	if len(alertRules(render(t, nil))) != 0 {
		t.Error("the alert rules are rendered by default")
	}
	// The coordinators' alerts go with them; each alert can be turned off.
	want := "DroverBreakerOpen DroverConsumerLagHigh DroverPodRestarting DroverTaskFailuresHigh DroverWorkerFetchPaused"
	if got := alertNames(alertRules(render(t, nil, "prometheusRule.enabled=true", "coordinator.enabled=false"))); got != want {
		t.Errorf("without coordinators the alerts are %q, want %q", got, want)
	}
	if got := alertNames(alertRules(render(t, nil, "prometheusRule.enabled=true", "prometheusRule.noLeader.enabled=false"))); strings.Contains(got, "DroverNoLeader") {
		t.Errorf("noLeader.enabled=false still renders it: %s", got)
	}
}
