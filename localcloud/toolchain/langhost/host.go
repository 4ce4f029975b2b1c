package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// exitCodeAlreadyReported is the exit code @pulumi/pulumi's cmd/run uses when it has already shown
// the user an actionable error (see nodeJSProcessExitedAfterLoggingUserActionableMessage in
// cmd/run/index.js): the engine should stop ("bail") without adding a message of its own.
const exitCodeAlreadyReported = 32

// host implements pulumirpc.LanguageRuntimeServer. Methods that are not defined here answer
// codes.Unimplemented through the embedded struct; the engine treats that as "not supported".
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	// ctx is cancelled by the Cancel RPC or on SIGINT/SIGTERM; every node process started under
	// it dies with it (SIGINT first, so the Node SDK can flush, then SIGKILL after killGrace).
	// Cancel then installs a fresh ctx: the engine also sends Cancel when it closes a plugin
	// host, and a host it attached to (PULUMI_DEBUG_LANGUAGES) serves the next one as well.
	ctx    context.Context
	cancel context.CancelFunc
}

const killGrace = 5 * time.Second

func newHost(engineAddress, tracing string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{engineAddress: engineAddress, tracing: tracing, ctx: ctx, cancel: cancel}
}

func (h *host) cancelAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancel()
	h.ctx, h.cancel = context.WithCancel(context.Background())
}

func (h *host) current() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ctx
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Handshake is only sent when the engine attaches to an already running host
// (PULUMI_DEBUG_LANGUAGES); a host it starts itself gets the engine address as an argument.
func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelAll()
	return &emptypb.Empty{}, nil
}

// Run runs the stack's program: node <sdk>/cmd/run/index.js <flags> <entry point> <args...>.
// The flags and environment variables are the ones cmd/run/index.js and the Node SDK read
// (runtime/settings.js, runtime/config.js, cmd/run/run.js).
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(format string, args ...any) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(format, args...)}, nil
	}
	if req.GetAttachDebugger() {
		return fail("this project's pulumi-language-nodejs (localcloud/toolchain/langhost) cannot attach a debugger")
	}

	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd() // engines before ProgramInfo existed
	}
	entryPoint := info.GetEntryPoint()
	if entryPoint == "" {
		entryPoint = req.GetProgram()
	}
	if entryPoint == "" {
		entryPoint = "." // cmd/run then uses package.json's exports/main
	}

	opts, err := parseOptions(info.GetOptions())
	if err != nil {
		return fail("%v", err)
	}
	node, err := findNode()
	if err != nil {
		return fail("%v", err)
	}
	runScript, err := findSDKScript(programDir, "cmd/run/index.js")
	if err != nil {
		return fail("%v", err)
	}

	args := append([]string{}, opts.nodeArgs...)
	args = append(args, runScript)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.engine())
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() != 0 {
		flag("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	flag("tracing", h.tracing)
	args = append(args, entryPoint)
	args = append(args, req.GetArgs()...)

	// Config travels in the environment. Keys are "<namespace>:<name>"; the Node SDK also accepts
	// the old "<namespace>:config:<name>" form, which we have no reason to produce.
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return fail("could not encode the stack's configuration: %v", err)
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return fail("could not encode the stack's secret configuration keys: %v", err)
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	env = append(env, opts.env()...)

	cmd, stop := h.command(ctx, node, args, env)
	defer stop()
	cmd.Dir = programDir
	// Not os.Stdout/os.Stderr themselves: given an *os.File, node would inherit our descriptors
	// and may switch them to non-blocking mode, which then breaks our own writes. Wrapped, they
	// are pipes that Go copies from, and Wait returns only after the last byte is copied.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	debugf("Run: %s (in %s)", strings.Join(cmd.Args, " "), cmd.Dir)

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeAlreadyReported:
		// The program's error is already on screen: stop without another message.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return fail("Program exited with non-zero exit code: %d", exitErr.ExitCode())
	case errors.As(err, &exitErr):
		return fail("Program exited unexpectedly: %v", exitErr)
	default:
		return fail("could not run %s: %v", node, err)
	}
}

// command builds a node command that is interrupted when the request ends (ctx), when the host
// is cancelled (h.ctx), or when the caller calls stop: SIGINT first, SIGKILL after killGrace.
func (h *host) command(ctx context.Context, node string, args, env []string) (cmd *exec.Cmd, stop func()) {
	cmdCtx, cancel := context.WithCancel(h.current())
	unregister := context.AfterFunc(ctx, cancel)
	cmd = exec.CommandContext(cmdCtx, node, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	// Also bounds the wait for output pipes held open by a grandchild after node exits.
	cmd.WaitDelay = killGrace
	return cmd, func() { unregister(); cancel() }
}

// RunPlugin runs a plugin written in Node.js from its directory (req.Info.ProgramDirectory):
// a policy pack (kind "analyzer", PulumiPolicy.yaml) or a PulumiPlugin.yaml plugin. Its stdout and
// stderr go back to the engine as RunPluginResponse messages; the engine reads the plugin's gRPC
// port from the first stdout line.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	ctx := server.Context()
	out := &streamWriter{send: server.Send}
	defer out.close()
	stdout := out.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	stderr := out.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	// An error returned before the plugin printed its port reaches the user as the engine's
	// "could not read plugin [<dir>]: <error>".
	if req.GetAttachDebugger() {
		return errors.New("this project's pulumi-language-nodejs (localcloud/toolchain/langhost) cannot attach a debugger")
	}

	dir := req.GetInfo().GetProgramDirectory()
	opts, err := parseOptions(req.GetInfo().GetOptions())
	if err != nil {
		return err
	}
	node, err := findNode()
	if err != nil {
		return err
	}
	policyPack := req.GetKind() == "analyzer"
	script := "cmd/run-plugin/index.js"
	if policyPack {
		script = "cmd/run-policy-pack/index.js"
	}
	runScript, err := findSDKScript(dir, script)
	if err != nil {
		return err
	}

	env := append(append([]string{}, req.GetEnv()...), opts.env()...)
	args := append(append([]string{}, opts.nodeArgs...), runScript)
	if policyPack {
		// run-policy-pack wants <engine address> <pack dir>; req.Args ends with the engine address.
		args = append(args, req.GetArgs()...)
		args = append(args, dir)
	} else {
		args = append(args, dir)
		args = append(args, req.GetArgs()...)
	}

	var proxy *sdk.PolicyProxy
	if policyPack {
		// @pulumi/policy learns the stack (name, project, config) from PULUMI_NODEJS_* and
		// PULUMI_CONFIG in its environment, but the engine only tells it after startup, through
		// the Analyzer ConfigureStack call. The sdk's PolicyProxy bridges that: it answers the
		// engine on a port of its own, waits for ConfigureStack, and then forwards every call to
		// the pack we start with that environment.
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		cfg, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("no stack configuration from the engine: %w", err)
		}
		if cfg != nil {
			env = append(env, stackEnv(cfg)...)
		}
	}

	cmd, stop := h.command(ctx, node, args, env)
	defer stop() // the engine is done with the plugin: make sure it is gone
	if policyPack {
		cmd.Dir = dir // packs have always run in their own directory
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	debugf("RunPlugin(%s): %s (in %s)", req.GetKind(), strings.Join(cmd.Args, " "), cmd.Dir)

	if err := cmd.Start(); err != nil {
		if proxy != nil {
			proxy.Abort(err)
		}
		return fmt.Errorf("could not run %s: %w", node, err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd) // returns when the pack exits
	} else {
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && ctx.Err() == nil {
		return fmt.Errorf("plugin %s exited with %v", dir, exitErr)
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil // exited normally, or stopped because the engine is done with it
}

// stackEnv is the environment @pulumi/pulumi's runtime reads the stack's identity and config from.
func stackEnv(cfg *pulumirpc.AnalyzerStackConfigureRequest) []string {
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", cfg.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", cfg.GetProject())
	add("PULUMI_NODEJS_STACK", cfg.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(cfg.GetDryRun()))
	if c := cfg.GetConfig(); c != nil {
		if b, err := json.Marshal(c); err == nil {
			add("PULUMI_CONFIG", string(b))
		}
	}
	if k := cfg.GetConfigSecretKeys(); k != nil {
		if b, err := json.Marshal(k); err == nil {
			add("PULUMI_CONFIG_SECRET_KEYS", string(b))
		}
	}
	return env
}

// streamWriter serialises writes from several goroutines (exec copies stdout and stderr in two,
// the policy proxy in a third) onto one gRPC stream, which must not be sent on concurrently.
type streamWriter struct {
	mu     sync.Mutex
	send   func(*pulumirpc.RunPluginResponse) error
	closed bool // the RPC has returned: the stream is gone, drop late output
}

func (s *streamWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (s *streamWriter) writer(wrap func([]byte) *pulumirpc.RunPluginResponse) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return len(b), nil
		}
		// The message keeps the slice after Write returns; the caller may reuse its buffer.
		if err := s.send(wrap(append([]byte(nil), b...))); err != nil {
			return 0, err
		}
		return len(b), nil
	})
}

// InstallDependencies is a no-op: the repo installs its npm dependencies itself (npm ci), and
// this machine reaches no package registry at `pulumi install` time anyway.
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(
		"pulumi-language-nodejs (localcloud/toolchain/langhost) installs nothing: run npm ci in " +
			req.GetInfo().GetProgramDirectory() + "\n")})
}

// About is shown by `pulumi about`.
func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := findNode()
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.AboutResponse{
		Executable: node,
		Metadata:   map[string]string{"languageHost": "localcloud/toolchain/langhost " + version},
	}
	if out, err := exec.CommandContext(ctx, node, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	return resp, nil
}

// options are Pulumi.yaml's `runtime.options` (or PulumiPolicy.yaml's / PulumiPlugin.yaml's).
type options struct {
	typescript   bool     // run .ts through ts-node (default true, as upstream)
	tsconfigPath string   // `tsconfig`: a tsconfig file other than ./tsconfig.json
	nodeArgs     []string // `nodeargs`: extra node flags, split on white space (no quoting)
}

func parseOptions(s *structpb.Struct) (options, error) {
	o := options{typescript: true}
	for k, v := range s.AsMap() {
		var ok bool
		switch k {
		case "typescript":
			o.typescript, ok = v.(bool)
		case "tsconfig":
			o.tsconfigPath, ok = v.(string)
		case "nodeargs":
			var a string
			a, ok = v.(string)
			o.nodeArgs = strings.Fields(a)
		default:
			ok = true // packagemanager, production, ...: only used by commands we do not implement
		}
		if !ok {
			return o, fmt.Errorf("runtime option %q has the wrong type (%T)", k, v)
		}
	}
	return o, nil
}

// env is what cmd/run/run.js reads to set up ts-node.
func (o options) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfigPath != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfigPath)
	}
	return env
}

// findNode returns the first node on PATH: the project puts the Node 22 of its node_modules/.bin
// first, and that is the one every program must run on.
func findNode() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no `node` on PATH (put the repo's node_modules/.bin first): %w", err)
	}
	return node, nil
}
