// kubecheck validates what `helm template` renders, offline and strictly,
// against the Kubernetes API types of one pinned version (k8s.io/api, see
// go.mod; KubeVersion below) and the KEDA and Prometheus-operator CRD
// types:
//
//	helm template ... | kubecheck validate        # or: kubecheck validate FILE...
//	kubecheck values-doc helm/drover/values.yaml   # Markdown table of the values
//	kubecheck rules FILE                           # PrometheusRule specs as a rule file
//
// validate decodes every object into its Go type with unknown fields,
// duplicate fields and case-mismatched fields as errors (the API server's
// strict field validation), accepts only the API versions the pinned
// Kubernetes serves, and checks names, labels, selectors and containers.
// Exit 0: all valid; 1: something invalid (each problem printed); 2: usage.
package main

import (
	"fmt"
	"io"
	"os"
)

// KubeVersion is the Kubernetes version the chart is validated against:
// the one whose types k8s.io/api (go.mod) holds. tests/chart/run passes it
// to `helm template --kube-version`.
const KubeVersion = "1.37.0"

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kubecheck validate [FILE...] | kubecheck values-doc VALUES_YAML | kubecheck rules FILE | kubecheck kube-version")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "-h", "--help":
		fmt.Println("kubecheck validate [FILE...]   strict offline validation of rendered manifests (stdin if no FILE)")
		fmt.Println("kubecheck values-doc VALUES     Markdown reference of a chart's values.yaml from its comments")
		fmt.Println("kubecheck rules FILE           the rendered PrometheusRules' groups as a Prometheus rule file (for promtool)")
		fmt.Println("kubecheck kube-version         the pinned Kubernetes version")
		fmt.Println("example: helm template t helm/drover --kube-version $(kubecheck kube-version) | kubecheck validate")
	case "kube-version":
		fmt.Println(KubeVersion)
	case "validate":
		var problems []string
		read := func(name string, r io.Reader) {
			data, err := io.ReadAll(r)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				return
			}
			objs, errs := Validate(name, data)
			problems = append(problems, errs...)
			if len(errs) == 0 {
				fmt.Printf("%s: %d objects valid against Kubernetes %s\n", name, objs, KubeVersion)
			}
		}
		if len(os.Args) == 2 {
			read("<stdin>", os.Stdin)
		}
		for _, f := range os.Args[2:] {
			fh, err := os.Open(f)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			read(f, fh)
			fh.Close()
		}
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "kubecheck: "+p)
		}
		if len(problems) > 0 {
			os.Exit(1)
		}
	case "rules":
		if len(os.Args) != 3 {
			usage()
		}
		data, err := os.ReadFile(os.Args[2])
		if err == nil {
			data, err = RulesFile(os.Args[2], data)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(1)
		}
		os.Stdout.Write(data)
	case "values-doc":
		if len(os.Args) != 3 {
			usage()
		}
		data, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(1)
		}
		doc, err := ValuesDoc(data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(1)
		}
		fmt.Print(doc)
	default:
		usage()
	}
}
