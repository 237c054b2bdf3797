// Command screenshots takes the README's screenshots of a running onegrid
// server (make demo): it logs in through the page's form as each user asked
// for, waits until the screen has drawn its map and figures, and writes one
// PNG per user.
//
//	go run ./cmd/screenshots -url http://localhost:8080 -out docs command:demo-command-centre.png worker:demo-grid-worker.png
//
// The demo users' password is the README's (onegrid-demo); -password changes it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	url := flag.String("url", "http://localhost:8080", "the server's base URL")
	out := flag.String("out", "docs", "directory the screenshots go to")
	password := flag.String("password", "onegrid-demo", "the users' password")
	settle := flag.Duration("settle", 3*time.Second, "time to let the map finish drawing after the screen says it is ready")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: screenshots [flags] user:file.png ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*url, *out, *password, *settle, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(url, out, password string, settle time.Duration, shots []string) error {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return errors.New("no chromium on PATH (scripts/setup.sh installs it)")
	}
	for _, s := range shots {
		user, file, ok := strings.Cut(s, ":")
		if !ok || user == "" || !strings.HasSuffix(file, ".png") {
			return fmt.Errorf("%q: want user:file.png", s)
		}
		if err := shoot(bin, url, user, password, filepath.Join(out, file), settle); err != nil {
			return fmt.Errorf("%s: %w", user, err)
		}
		fmt.Println("wrote", filepath.Join(out, file))
	}
	return nil
}

// shoot takes one user's screenshot in a browser of its own (no shared cookies).
func shoot(bin, url, user, password, file string, settle time.Duration) error {
	dir, err := os.MkdirTemp("", "onegrid-shots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.UserDataDir(dir), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("use-gl", "angle"), chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true), chromedp.WindowSize(1600, 900))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var png []byte
	err = chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-name"), user),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`window.__onegrid && window.__onegrid.ready`, chromedp.WithPollingTimeout(60*time.Second)),
		chromedp.Sleep(settle),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			png, err = chromedp.CaptureScreenshot()(ctx, tg)
			return err
		}),
	)
	if err != nil {
		return err
	}
	return os.WriteFile(file, png, 0o644)
}
