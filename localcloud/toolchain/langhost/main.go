// pulumi-language-nodejs: this project's own, small Node.js language host for the Pulumi engine.
//
// Why it exists: the Go module proxy this project may use serves the Pulumi CLI
// (github.com/pulumi/pulumi/{pkg,sdk}/v3) but refuses the upstream language host module, and no
// Node.js program runs under the CLI without one. This host implements the engine's
// LanguageRuntime gRPC service (pulumirpc.LanguageRuntimeServer, from the served sdk module) by
// starting `node` on the entry scripts that the @pulumi/pulumi npm package ships:
//
//	Run        -> node <node_modules>/@pulumi/pulumi/cmd/run/index.js         (the stack's program)
//	RunPlugin  -> node <node_modules>/@pulumi/pulumi/cmd/run-policy-pack/...  (policy packs)
//	              node <node_modules>/@pulumi/pulumi/cmd/run-plugin/...       (PulumiPlugin.yaml plugins)
//
// Deliberately missing, compared with the upstream host: debugger attach, `pulumi new`/convert/
// codegen (Template, Generate*, Pack, Link), dependency installation (the repo installs with npm),
// the bun runtime, and the "sync invoke" pipes (the Node SDK no longer uses them).
// localcloud/toolchain/toolchain.sh builds this file into the directory of the `pulumi` binary, which is where
// the engine looks for bundled plugins first (no "using ... from $PATH" warning there).
// localcloud/toolchain/ENGINE-NOTES.md has the background.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is reported by GetPluginInfo. localcloud/toolchain/toolchain.sh sets it to the CLI version this host is
// built for, with "+fpsgame" build metadata so that `pulumi about` shows it is not the upstream host.
var version = "0.0.0+fpsgame"

// flags are what the engine passes before the engine address: `--logtostderr`, `-v=N`,
// `--tracing URL` (see buildPluginArguments in sdk/go/common/resource/plugin). Other hosts accept
// `-root`, `-runtime`, `-version`; anything unknown is ignored rather than fatal, so that a newer
// engine adding a flag cannot stop every program from running.
type flags struct {
	engineAddress string
	tracing       string
	verbose       int
	logToStderr   bool
	showVersion   bool
}

func parseFlags(args []string) flags {
	var f flags
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "tracing", "root", "runtime":
			// Flags that take a value, given either as -f=v or as -f v.
			if !hasVal && i+1 < len(args) {
				i++
				val = args[i]
			}
			if name == "tracing" {
				f.tracing = val
			}
		case "v":
			f.verbose, _ = strconv.Atoi(val)
		case "logtostderr":
			f.logToStderr = !hasVal || val == "true"
		case "version":
			f.showVersion = true
		}
	}
	// The engine puts its address last ("positional argument for the server address must come last").
	if len(positional) > 0 {
		f.engineAddress = positional[len(positional)-1]
	}
	return f
}

func main() {
	f := parseFlags(os.Args[1:])
	if f.showVersion {
		fmt.Println(version)
		return
	}
	debugEnabled = f.logToStderr && f.verbose >= 5

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.engineAddress != "" {
		// Exit when the engine is gone, instead of lingering as an orphan.
		if err := rpcutil.Healthcheck(ctx, f.engineAddress, 5*time.Minute, stop); err != nil {
			fatalf("could not start the engine health check: %v", err)
		}
	}

	h := newHost(f.engineAddress, f.tracing)
	stopServing := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fatalf("could not start the language host gRPC server: %v", err)
	}
	go func() {
		<-ctx.Done()
		h.cancelAll() // stop running node processes first (SIGINT, then kill after a grace period)
		close(stopServing)
	}()

	// The plugin protocol: the first line on stdout is our port; the engine reads it, then shows
	// everything else we (and the node processes we start) write to stdout/stderr.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fatalf("the language host gRPC server stopped: %v", err)
	}
}

// debugEnabled turns on debugf; the engine asks for it with `pulumi -v=5 --logflow --logtostderr`.
var debugEnabled bool

func debugf(format string, args ...any) {
	if debugEnabled {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: error: "+format+"\n", args...)
	os.Exit(1)
}
