// gitops-health reads Kubernetes objects (a JSON list on stdin) and prints how
// the GitOps tools judge each one, with the tools' own code: Argo CD's view is
// our health.lua run by gopher-lua the way Argo CD runs health checks (the
// object as the global `obj`, only the base and table libraries, the returned
// table's status and message); Flux's view is kstatus (sigs.k8s.io/cli-utils).
//
//	gitops-health <health.lua> < objects.json
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type result struct {
	Name    string  `json:"name"`
	Argo    verdict `json:"argo"`
	KStatus verdict `json:"kstatus"`
}

// toLua converts decoded JSON as Argo CD's decodeValue does: objects and
// arrays become tables (arrays from index 1), numbers LNumber.
func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch t := v.(type) {
	case map[string]interface{}:
		tbl := l.NewTable()
		for k, e := range t {
			tbl.RawSetString(k, toLua(l, e))
		}
		return tbl
	case []interface{}:
		tbl := l.NewTable()
		for i, e := range t {
			tbl.RawSetInt(i+1, toLua(l, e))
		}
		return tbl
	case float64:
		return lua.LNumber(t)
	case int64:
		return lua.LNumber(t)
	case string:
		return lua.LString(t)
	case bool:
		return lua.LBool(t)
	default:
		return lua.LNil
	}
}

func argo(script string, obj map[string]interface{}) (verdict, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		l.Push(l.NewFunction(lib.fn))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return verdict{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return verdict{}, fmt.Errorf("health.lua returned %s, not a table", l.Get(-1).Type())
	}
	return verdict{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gitops-health <health.lua> < objects.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Kubernetes' JSON decoding: whole numbers become int64, as in the
	// unstructured objects both tools are given.
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var objects []map[string]interface{}
	if err := utiljson.Unmarshal(input, &objects); err != nil {
		fmt.Fprintln(os.Stderr, "objects:", err)
		os.Exit(1)
	}
	out := []result{}
	for _, o := range objects {
		u := &unstructured.Unstructured{Object: o}
		a, err := argo(string(script), o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", u.GetName(), err)
			os.Exit(1)
		}
		k, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: kstatus: %v\n", u.GetName(), err)
			os.Exit(1)
		}
		out = append(out, result{Name: u.GetName(), Argo: a, KStatus: verdict{Status: k.Status.String(), Message: k.Message}})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
