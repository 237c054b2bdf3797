package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onegrid/onegrid/auth"
)

func init() { commands["users"] = runUsers }

const usersUsage = `usage: onegrid users <command> [flags]

  add NAME --roles R[,R] --units CODE[,CODE] [--duties CAT[,CAT]] [--display-name TEXT] [--password-stdin]
        a user; without --password-stdin a one-time password is printed once (to be changed at first login)
  list [--json]                      every user (never a password or token)
  disable NAME | enable NAME         disabling also ends the user's sessions and revokes their tokens
  passwd NAME                        a new one-time password, printed once
  token NAME --name LABEL [--expires 90d]
                                     an API token (Authorization: Bearer …), printed once
  revoke NAME --name LABEL           revoke a token
  demo                               one user per role for the demo city (passwords in the README)

roles: admin, command, officer, grid_worker, handler, planner, analyst, auditor
units: admin codes (440304001000) or grid codes, or * for everything
`

// runUsers manages identities as the schema's owner (as ingest and gen do).
func runUsers(ctx context.Context, m *Main, args []string) error {
	top := flag.NewFlagSet("users", flag.ContinueOnError)
	top.Usage = func() { fmt.Fprint(top.Output(), usersUsage) }
	if err := m.parseFlagsToArg(top, args); err != nil {
		return err
	}
	args = top.Args()
	if len(args) == 0 {
		return usageError{msg: "users needs a command: add, list, disable, enable, passwd, token, revoke or demo (onegrid users -h)"}
	}
	if args[0] == "help" {
		fmt.Fprint(m.Stdout, usersUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usersUsage) }
	var roles, units, duties, display, label, expires string
	var stdinPw, asJSON bool
	switch sub {
	case "add":
		fs.StringVar(&roles, "roles", "", "comma-separated roles")
		fs.StringVar(&units, "units", "", "comma-separated admin or grid codes, or *")
		fs.StringVar(&duties, "duties", "", "comma-separated event category codes whose sensitive events are the user's duty")
		fs.StringVar(&display, "display-name", "", "name shown on the screen")
		fs.BoolVar(&stdinPw, "password-stdin", false, "read the password from the first line of standard input")
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "token", "revoke":
		fs.StringVar(&label, "name", "", "the token's name")
		fs.StringVar(&expires, "expires", "90d", "lifetime: 12h, 30d, … (at most 366d)")
	case "disable", "enable", "passwd", "demo":
	default:
		return usageError{msg: fmt.Sprintf("users: unknown command %q (onegrid users -h)", sub)}
	}
	// NAME may come before or after the flags.
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	takesName := sub != "list" && sub != "demo"
	switch {
	case !takesName && fs.NArg() > 0:
		return usageError{msg: fmt.Sprintf("users %s: unexpected argument %q", sub, fs.Arg(0))}
	case fs.NArg() > 1:
		return usageError{msg: fmt.Sprintf("users %s: unexpected argument %q", sub, fs.Arg(1))}
	}
	name := fs.Arg(0)
	if name == "" && takesName {
		return usageError{msg: fmt.Sprintf("users %s: which user? give a NAME", sub)}
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	u := auth.NewUsers(db)
	now := m.Config.clock()
	err = func() error {
		switch sub {
		case "add":
			rs, err := auth.ParseRoles(roles)
			if err != nil {
				return usageError{msg: "--roles: " + err.Error()}
			}
			n := auth.NewUser{Name: name, DisplayName: display, Roles: rs, Units: splitList(units), Duties: splitList(duties)}
			if stdinPw {
				line, err := bufio.NewReader(m.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("--password-stdin: read the password: %w", err)
				}
				n.Password = strings.TrimRight(line, "\r\n")
			}
			pw, err := u.Add(ctx, n)
			if err != nil {
				return err
			}
			if n.Password == "" {
				fmt.Fprintf(m.Stdout, "user %s added\none-time password: %s\n(shown once; it must be changed at first login)\n", name, pw)
			} else {
				fmt.Fprintf(m.Stdout, "user %s added\n", name)
			}
		case "list":
			list, err := u.List(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATUS\tROLES\tUNITS\tDUTIES\tTOKENS\tDISPLAY NAME")
			for _, x := range list {
				rs := make([]string, len(x.Roles))
				for i, r := range x.Roles {
					rs[i] = string(r)
				}
				status := x.Status
				if x.MustChangePassword {
					status += " (new password due)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", x.Name, status, strings.Join(rs, ","), strings.Join(x.Units, ","),
					strings.Join(x.Duties, ","), x.Tokens, x.DisplayName)
			}
			return tw.Flush()
		case "disable", "enable":
			if err := u.SetStatus(ctx, name, sub == "enable", now); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "user %s %sd\n", name, sub)
		case "passwd":
			pw, err := u.ResetPassword(ctx, name, now)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "one-time password of %s: %s\n(shown once; it must be changed at first login)\n", name, pw)
		case "token":
			ttl, err := parseLifetime(expires)
			if err != nil {
				return usageError{msg: "--expires: " + err.Error()}
			}
			tok, err := u.CreateToken(ctx, name, label, now, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s\n", tok)
			fmt.Fprintf(m.Stderr, "token %q of %s, valid until %s (shown once)\n", label, name, now.Add(ttl).Format(time.RFC3339))
		case "revoke":
			if err := u.RevokeToken(ctx, name, label, now); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "token %q of %s revoked\n", label, name)
		case "demo":
			made, err := u.Demo(ctx)
			if err != nil {
				return err
			}
			if len(made) == 0 {
				fmt.Fprintln(m.Stdout, "demo users exist: kept")
			}
			for _, d := range made {
				fmt.Fprintf(m.Stdout, "demo user %-12s roles %-12s units %s\n", d.Name, d.Roles[0], strings.Join(d.Units, ","))
			}
		}
		return nil
	}()
	var ie *auth.InputError
	if errors.As(err, &ie) {
		return usageError{msg: "users " + sub + ": " + ie.Problem}
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseLifetime reads 90d, 12h, 30m.
func parseLifetime(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a number of days (90d) or a duration (12h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a number of days (90d) or a duration (12h)", s)
	}
	return d, nil
}
