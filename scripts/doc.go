// Package scripts runs customization scripts written in Starlark, with a
// small set of builtins that touch the machine only through the interfaces
// the caller hands in.
package scripts
