//go:build !windows

package main

import "context"

// asService: init systems other than Windows' run ovfinit as a plain
// process and stop it with SIGTERM.
func asService(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
