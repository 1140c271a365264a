// Package examples holds the tests of the bundled example function app in
// app/: each function is built with appbuild and run as a WASI command.
package examples
