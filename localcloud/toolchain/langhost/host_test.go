package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func TestParseFlags(t *testing.T) {
	f := parseFlags([]string{"--logtostderr", "-v=9", "--tracing", "http://t", "-unknown=1", "127.0.0.1:4000"})
	if f.engineAddress != "127.0.0.1:4000" || f.tracing != "http://t" || f.verbose != 9 || !f.logToStderr {
		t.Fatalf("got %+v", f)
	}
	if f := parseFlags([]string{"-root=/x", "-tracing=u", "addr"}); f.engineAddress != "addr" || f.tracing != "u" {
		t.Fatalf("got %+v", f)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil)
	if err != nil || !o.typescript {
		t.Fatalf("default: %+v %v", o, err)
	}
	s, _ := structpb.NewStruct(map[string]any{
		"typescript": false, "tsconfig": "tsconfig.pulumi.json", "nodeargs": "--max-old-space-size=4096 --trace-warnings",
		"packagemanager": "npm",
	})
	o, err = parseOptions(s)
	if err != nil || o.typescript || o.tsconfigPath != "tsconfig.pulumi.json" || len(o.nodeArgs) != 2 {
		t.Fatalf("got %+v %v", o, err)
	}
	if env := strings.Join(o.env(), " "); env != "PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.pulumi.json" {
		t.Fatalf("env %q", env)
	}
	bad, _ := structpb.NewStruct(map[string]any{"typescript": "yes"})
	if _, err := parseOptions(bad); err == nil {
		t.Fatal("a non-boolean typescript option was accepted")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredPackages(t *testing.T) {
	root := t.TempDir()
	nm := filepath.Join(root, "node_modules")
	writeFile(t, filepath.Join(nm, "@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true,"name":"command","version":"1.2.1"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/pulumi/package.json"), `{"name":"@pulumi/pulumi","version":"3.270.0"}`)
	writeFile(t, filepath.Join(nm, "@upstash/pulumi/package.json"),
		`{"name":"@upstash/pulumi","version":"v0.5.0","pulumi":{"resource":true,"name":"upstash","server":"github://x"}}`)
	writeFile(t, filepath.Join(nm, "@sst-provider/neon/package.json"), `{"name":"@sst-provider/neon","version":"0.13.0",
		"pulumi":{"resource":true,"name":"terraform-provider","version":"1.1.1",
		"parameterization":{"name":"neon","version":"0.13.0","value":"eyJhIjoxfQ=="}}}`)
	writeFile(t, filepath.Join(nm, "@third/party/package.json"), `{"name":"@third/party","version":"1.0.0","pulumi":{"resource":true}}`)
	// A nested copy at another version is reported too; the same one twice is not.
	writeFile(t, filepath.Join(nm, "x/node_modules/@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"1.0.0","pulumi":{"resource":true}}`)
	writeFile(t, filepath.Join(nm, "y/node_modules/@pulumi/command/package.json"),
		`{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true}}`)
	// The program lives below the directory holding node_modules, as in .local/scratch.
	program := filepath.Join(root, "sub", "prog")
	if err := os.MkdirAll(program, 0o755); err != nil {
		t.Fatal(err)
	}

	deps, err := requiredPackages(program)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		s := d.Name + "@" + d.Version
		if d.Server != "" {
			s += " " + d.Server
		}
		if p := d.Parameterization; p != nil {
			s += " param " + p.Name + "@" + p.Version + " " + string(p.Value)
		}
		got = append(got, s)
	}
	want := []string{
		"command@v1.0.0", "command@v1.2.1", "terraform-provider@v1.1.1 param neon@0.13.0 {\"a\":1}",
		"upstash@v0.5.0 github://x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFindSDKScript(t *testing.T) {
	root := t.TempDir()
	if _, err := findSDKScript(root, "cmd/run/index.js"); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(root, "node_modules", "@pulumi", "pulumi")) {
		t.Fatalf("missing SDK: %v", err)
	}
	writeFile(t, filepath.Join(root, "node_modules/@pulumi/pulumi/package.json"), `{}`)
	if _, err := findSDKScript(filepath.Join(root, "a"), "cmd/run/index.js"); err == nil ||
		!strings.Contains(err.Error(), "cmd/run/index.js is missing") {
		t.Fatalf("incomplete SDK: %v", err)
	}
	writeFile(t, filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run/index.js"), ``)
	p, err := findSDKScript(filepath.Join(root, "a", "b"), "cmd/run/index.js")
	if err != nil || p != filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run/index.js") {
		t.Fatalf("got %q %v", p, err)
	}
}
