// countersign-chartcheck: decodes every object of a rendered Helm chart (the output of
// `helm template`, on stdin) strictly into its Kubernetes or Prometheus-operator Go API
// type, and checks a custom resource of a kind given with -crd against the OpenAPI
// schema of that CustomResourceDefinition (KEDA's kinds: crdschema.go). An unknown or
// misspelt field, a wrong type or a duplicate key is an error, as is a kind this tool
// does not know. scripts/helm.sh runs it on the chart rendered with every values file,
// with the CRD files of the KEDA release it pins.
//
//	helm template t helm/countersign -f values.yaml | countersign-chartcheck -crd a.yaml -crd b.yaml
//
// Exit 0: every object decoded; 1: at least one did not (each printed); 2: bad input.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	monitoring "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The API types of every kind a chart of ours may render.
var types = map[string]func() any{
	"v1/Pod":                                   func() any { return &corev1.Pod{} },
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/StatefulSet":                      func() any { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler":   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &monitoring.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":      func() any { return &monitoring.PodMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":  func() any { return &monitoring.PrometheusRule{} },
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// The YAML documents of a multi-document stream, with where each starts.
func documents(r io.Reader) ([][]byte, []string, error) {
	var docs [][]byte
	var where []string
	var cur bytes.Buffer
	source := ""
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			where = append(where, source)
		}
		cur.Reset()
	}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 64<<20)
	for s.Scan() {
		line := s.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") {
			flush()
			source = ""
			continue
		}
		if strings.HasPrefix(line, "# Source: ") {
			source = strings.TrimPrefix(line, "# Source: ")
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs, where, s.Err()
}

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var crdFiles fileList
	flag.Var(&crdFiles, "crd", "a CustomResourceDefinition file whose kinds are checked against its schema (repeatable)")
	flag.Parse()
	schemas := map[string]*crdSchema{}
	for _, f := range crdFiles {
		loaded, err := loadCRD(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "countersign-chartcheck:", err)
			os.Exit(2)
		}
		for k, s := range loaded {
			schemas[k] = s
		}
	}
	docs, where, err := documents(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "countersign-chartcheck: reading stdin:", err)
		os.Exit(2)
	}
	if len(docs) == 0 {
		fmt.Fprintln(os.Stderr, "countersign-chartcheck: no objects on stdin")
		os.Exit(2)
	}
	failed := 0
	for i, doc := range docs {
		var h header
		if err := yaml.Unmarshal(doc, &h); err != nil {
			fmt.Printf("%s: not a YAML object: %v\n", where[i], err)
			failed++
			continue
		}
		name := fmt.Sprintf("%s %s/%s (%s)", h.Kind, h.APIVersion, h.Metadata.Name, where[i])
		if h.Metadata.Name == "" {
			fmt.Printf("%s: no metadata.name\n", name)
			failed++
		}
		if schema, custom := schemas[h.APIVersion+"/"+h.Kind]; custom {
			if errs := validateCustomResource(doc, schema); len(errs) > 0 {
				for _, e := range errs {
					fmt.Printf("%s: %s\n", name, e)
				}
				failed++
			}
			continue
		}
		make, known := types[h.APIVersion+"/"+h.Kind]
		if !known {
			fmt.Printf("%s: kind not known to this check (add its Go API type, or pass its CRD with -crd)\n", name)
			failed++
			continue
		}
		if err := yaml.UnmarshalStrict(doc, make()); err != nil {
			fmt.Printf("%s: %v\n", name, err)
			failed++
			continue
		}
	}
	if failed > 0 {
		fmt.Printf("countersign-chartcheck: %d of %d object(s) do not decode strictly\n", failed, len(docs))
		os.Exit(1)
	}
	fmt.Printf("countersign-chartcheck: %d object(s) decode strictly into their API types or match their CRD schemas\n", len(docs))
}
