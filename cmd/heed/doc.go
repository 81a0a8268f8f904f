// Command heed makes programs good API citizens: it paces calls under an
// API's quota and makes every worker that shares a quota wait when the API
// says wait.
//
// Usage:
//
//	heed <command> [arguments]
//
// The commands are:
//
//	explain   say what an HTTP response head tells about the caller's quota
//	help      show help for heed or one of its commands
//	version   print heed's version
//
// For example, to see what GitHub says about your quota:
//
//	curl -sI https://api.github.com/rate_limit | heed explain
//
// This package is a thin shell: the commands live in internal/cli, where
// they read and write injected streams and return an exit status, so that
// tests reach every one of them in-process.
package main
