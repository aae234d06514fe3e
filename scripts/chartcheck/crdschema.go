package main

// Validation of a custom resource against the OpenAPI v3 schema of its
// CustomResourceDefinition, the way the API server checks a structural schema: types,
// unknown fields (unless additionalProperties or x-kubernetes-preserve-unknown-fields
// allow them), required fields, enums, int-or-string, anyOf, patterns and bounds.
// metadata is decoded strictly into ObjectMeta, as the API server does for every kind.
// Not evaluated: x-kubernetes-validations (CEL rules) and formats.
//
// Used for KEDA's kinds: their Go API package imports controller-runtime and client-go
// (about 560 more packages to compile than the rest of this tool), while the CRD the
// KEDA release installs is the schema the cluster validates against anyway.

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

type crdSchema struct {
	Type                 string                `json:"type"`
	Properties           map[string]*crdSchema `json:"properties"`
	AdditionalProperties *additional           `json:"additionalProperties"`
	Items                *crdSchema            `json:"items"`
	Required             []string              `json:"required"`
	Enum                 []any                 `json:"enum"`
	AnyOf                []*crdSchema          `json:"anyOf"`
	Nullable             bool                  `json:"nullable"`
	PreserveUnknown      bool                  `json:"x-kubernetes-preserve-unknown-fields"`
	IntOrString          bool                  `json:"x-kubernetes-int-or-string"`
	Pattern              string                `json:"pattern"`
	Minimum              *float64              `json:"minimum"`
	Maximum              *float64              `json:"maximum"`
	MinLength            *int                  `json:"minLength"`
	MaxLength            *int                  `json:"maxLength"`
	MinItems             *int                  `json:"minItems"`
	MaxItems             *int                  `json:"maxItems"`
}

// additionalProperties is either a boolean or a schema.
type additional struct {
	allowed bool
	schema  *crdSchema
}

func (a *additional) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &a.allowed); err == nil {
		return nil
	}
	a.allowed = true
	return json.Unmarshal(b, &a.schema)
}

type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
			Schema struct {
				OpenAPIV3Schema *crdSchema `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// loadCRD reads a CustomResourceDefinition file and returns the schema of every served
// version, keyed like the types table ("group/version/Kind").
func loadCRD(path string) (map[string]*crdSchema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c crd
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[string]*crdSchema{}
	for _, v := range c.Spec.Versions {
		if v.Served && v.Schema.OpenAPIV3Schema != nil {
			out[c.Spec.Group+"/"+v.Name+"/"+c.Spec.Names.Kind] = v.Schema.OpenAPIV3Schema
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no served version with an openAPIV3Schema", path)
	}
	return out, nil
}

// validateCustomResource checks one rendered object against its CRD schema; every
// problem is returned, in document order of the paths.
func validateCustomResource(doc []byte, s *crdSchema) []string {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return []string{err.Error()}
	}
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	if meta, ok := obj["metadata"]; ok {
		mjs, _ := json.Marshal(meta)
		if err := yaml.UnmarshalStrict(mjs, &metav1.ObjectMeta{}); err != nil {
			errs = append(errs, "metadata: "+err.Error())
		}
		delete(obj, "metadata")
	}
	v := validator{errs: errs}
	v.check(obj, s, "")
	sort.Strings(v.errs)
	return v.errs
}

type validator struct {
	errs []string
}

func (v *validator) fail(path, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isInteger(x any) bool {
	n, ok := x.(json.Number)
	if !ok {
		return false
	}
	_, err := strconv.ParseInt(string(n), 10, 64)
	return err == nil
}

func (v *validator) check(x any, s *crdSchema, path string) {
	if s == nil {
		return
	}
	if x == nil {
		if !s.Nullable {
			v.fail(path, "null where the schema wants %s", s.Type)
		}
		return
	}
	if s.IntOrString {
		if _, str := x.(string); !str && !isInteger(x) {
			v.fail(path, "want an integer or a string, got %s", describe(x))
		}
		return
	}
	switch s.Type {
	case "object":
		m, ok := x.(map[string]any)
		if !ok {
			v.fail(path, "want an object, got %s", describe(x))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, known := s.Properties[k]; known {
				v.check(m[k], p, join(path, k))
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.schema != nil {
				v.check(m[k], s.AdditionalProperties.schema, join(path, k))
			} else if !s.PreserveUnknown && (s.AdditionalProperties == nil || !s.AdditionalProperties.allowed) {
				v.fail(path, "unknown field %q", k)
			}
		}
		for _, k := range s.Required {
			if _, present := m[k]; !present {
				v.fail(path, "missing required field %q", k)
			}
		}
	case "array":
		a, ok := x.([]any)
		if !ok {
			v.fail(path, "want an array, got %s", describe(x))
			return
		}
		if s.MinItems != nil && len(a) < *s.MinItems {
			v.fail(path, "%d items, fewer than %d", len(a), *s.MinItems)
		}
		if s.MaxItems != nil && len(a) > *s.MaxItems {
			v.fail(path, "%d items, more than %d", len(a), *s.MaxItems)
		}
		for i, e := range a {
			v.check(e, s.Items, fmt.Sprintf("%s[%d]", path, i))
		}
	case "string":
		str, ok := x.(string)
		if !ok {
			v.fail(path, "want a string, got %s", describe(x))
			return
		}
		if s.MinLength != nil && len(str) < *s.MinLength {
			v.fail(path, "shorter than %d", *s.MinLength)
		}
		if s.MaxLength != nil && len(str) > *s.MaxLength {
			v.fail(path, "longer than %d", *s.MaxLength)
		}
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				v.fail(path, "schema pattern %q is not one Go can check: %v", s.Pattern, err)
			} else if !re.MatchString(str) {
				v.fail(path, "%q does not match %q", str, s.Pattern)
			}
		}
	case "integer", "number":
		n, ok := x.(json.Number)
		if !ok || (s.Type == "integer" && !isInteger(x)) {
			v.fail(path, "want %s, got %s", map[string]string{"integer": "an integer", "number": "a number"}[s.Type], describe(x))
			return
		}
		f, _ := n.Float64()
		if s.Minimum != nil && f < *s.Minimum {
			v.fail(path, "%s is below the minimum %v", n, *s.Minimum)
		}
		if s.Maximum != nil && f > *s.Maximum {
			v.fail(path, "%s is above the maximum %v", n, *s.Maximum)
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			v.fail(path, "want a boolean, got %s", describe(x))
			return
		}
	case "":
		// No type: anything, constrained by anyOf below if given.
	default:
		v.fail(path, "schema type %q unknown to this check", s.Type)
		return
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if fmt.Sprint(e) == fmt.Sprint(x) {
				found = true
				break
			}
		}
		if !found {
			v.fail(path, "%v is not one of %v", x, s.Enum)
		}
	}
	if len(s.AnyOf) > 0 {
		for _, alt := range s.AnyOf {
			sub := validator{}
			sub.check(x, alt, path)
			if len(sub.errs) == 0 {
				return
			}
		}
		v.fail(path, "matches none of the schema's anyOf alternatives")
	}
}

func describe(x any) string {
	switch t := x.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", t)
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case json.Number:
		return "the number " + string(t)
	}
	return fmt.Sprintf("%T", x)
}
