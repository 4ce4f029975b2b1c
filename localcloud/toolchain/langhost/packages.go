package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// findNodeModules returns the node_modules directory that Node's resolution would use for a
// program in dir: the first dir/node_modules, dir/../node_modules, ... that exists. A program
// under .local/scratch in the repo thus uses the repo's node_modules, as `node` itself would.
func findNodeModules(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		nm := filepath.Join(dir, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// findSDKScript finds @pulumi/pulumi/<script> for a program in dir, the way Node resolves the
// package (nearest node_modules holding it, walking up), and says precisely what is missing.
func findSDKScript(dir, script string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var tried []string
	for d := abs; ; d = filepath.Dir(d) {
		pkg := filepath.Join(d, "node_modules", "@pulumi", "pulumi")
		if st, err := os.Stat(pkg); err == nil && st.IsDir() {
			p := filepath.Join(pkg, filepath.FromSlash(script))
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%s is missing: the @pulumi/pulumi in %s is incomplete or too old "+
					"(run npm ci in %s)", p, pkg, abs)
			}
			return p, nil
		}
		tried = append(tried, pkg)
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("@pulumi/pulumi is not installed for %s: no %s (nor in any parent "+
		"directory); run npm ci in %s", abs, tried[0], abs)
}

// packageJSON holds the parts of a package.json this host reads.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	// The "pulumi" section of an npm package that ships a Pulumi provider's SDK, e.g.
	// {"resource": true, "name": "vercel", "version": "5.4.1", "server": "github://..."} or, for a
	// parameterized package such as @sst-provider/neon, {"name": "terraform-provider", ...,
	// "parameterization": {"name": "neon", "version": "0.13.0", "value": "<base64>"}}.
	Pulumi struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"` // base64 in JSON, decoded by encoding/json
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// requiredPackages lists the provider packages declared by the npm packages installed for the
// program in dir. Unlike the upstream host, which walks the whole program directory, this looks
// only at the program's nearest node_modules (packages, @scope/packages and their nested
// node_modules), which is where npm puts them; it is fast and never wanders into a policy pack.
func requiredPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	nm, ok := findNodeModules(dir)
	if !ok {
		return nil, nil // nothing installed: nothing required (Run will say what is missing)
	}
	s := &pkgScan{seenDir: map[string]bool{}, seenDep: map[string]bool{}}
	s.walk(nm)
	sort.Slice(s.deps, func(i, j int) bool {
		if s.deps[i].Name != s.deps[j].Name {
			return s.deps[i].Name < s.deps[j].Name
		}
		return s.deps[i].Version < s.deps[j].Version
	})
	return s.deps, nil
}

type pkgScan struct {
	seenDir map[string]bool // real package directories visited (npm links, nested copies)
	seenDep map[string]bool // name@version already reported
	deps    []*pulumirpc.PackageDependency
}

// walk visits every package of one node_modules directory.
func (s *pkgScan) walk(nm string) {
	entries, _ := os.ReadDir(nm)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // .bin, .package-lock.json, ...
		}
		if strings.HasPrefix(name, "@") {
			scoped, _ := os.ReadDir(filepath.Join(nm, name))
			for _, p := range scoped {
				s.visit(filepath.Join(nm, name, p.Name()))
			}
			continue
		}
		s.visit(filepath.Join(nm, name))
	}
}

// visit reads one package's package.json, then the packages nested in its own node_modules.
func (s *pkgScan) visit(pkgDir string) {
	if real, err := filepath.EvalSymlinks(pkgDir); err == nil {
		pkgDir = real
	}
	if s.seenDir[pkgDir] {
		return
	}
	s.seenDir[pkgDir] = true
	if p, err := readPackageJSON(filepath.Join(pkgDir, "package.json")); err == nil && p.Pulumi.Resource {
		dep := packageDependency(p)
		switch {
		case dep == nil:
			debugf("ignoring %s: a third-party Pulumi package must name its plugin in pulumi.name", pkgDir)
		case !s.seenDep[dep.Name+"@"+dep.Version]:
			s.seenDep[dep.Name+"@"+dep.Version] = true
			s.deps = append(s.deps, dep)
		}
	}
	if st, err := os.Stat(filepath.Join(pkgDir, "node_modules")); err == nil && st.IsDir() {
		s.walk(filepath.Join(pkgDir, "node_modules"))
	}
}

// packageDependency applies npm's conventions for the plugin name and version: pulumi.name, or
// the package name without "@pulumi/" (only @pulumi packages may omit pulumi.name); pulumi.version,
// or the package version; with a leading "v".
func packageDependency(p *packageJSON) *pulumirpc.PackageDependency {
	name := p.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(p.Name, "@pulumi/") {
			return nil
		}
		name = strings.TrimPrefix(p.Name, "@pulumi/")
	}
	ver := p.Pulumi.Version
	if ver == "" {
		ver = p.Version
	}
	if ver != "" && !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: ver, Server: p.Pulumi.Server}
	if pz := p.Pulumi.Parameterization; pz != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{
			Name: pz.Name, Version: pz.Version, Value: pz.Value,
		}
	}
	return dep
}

// GetRequiredPackages tells the engine which provider plugins the program's packages need. With
// automatic plugin acquisition off, the engine installs none of them; providers are loaded only
// when the program registers a resource of theirs.
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := requiredPackages(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages (no parameterization); engines
// call it only when GetRequiredPackages is unimplemented. Kept for tools that still use it.
func (h *host) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd() //nolint:staticcheck // old engines
	}
	deps, err := requiredPackages(dir)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, d := range deps {
		if d.Parameterization != nil {
			continue // cannot be expressed as a plain plugin
		}
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return resp, nil
}

// GetProgramDependencies (for `pulumi about`): the program's direct npm dependencies, with the
// version installed in its node_modules (or the range from package.json when not installed).
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the program's package.json: %w", err)
	}
	nm, _ := findNodeModules(dir)
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, m := range []map[string]string{p.Dependencies, p.DevDependencies} {
		for name, wanted := range m {
			v := wanted
			if nm != "" {
				if dep, err := readPackageJSON(filepath.Join(nm, name, "package.json")); err == nil {
					v = dep.Version
				}
			}
			resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: v})
		}
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}
