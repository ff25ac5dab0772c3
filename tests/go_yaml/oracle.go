// Command oracle prints what Kubernetes' YAML decoder makes of YAML documents, so that kscan's
// tests can compare their reading with the real one.
//
// It reads one JSON-encoded string per line (a YAML document) and writes one line per input:
// the JSON that sigs.k8s.io/yaml's YAMLToJSON (go-yaml v2 underneath, as kubectl and the API
// server use) produces, or "ERR" followed by the error. Each answer is flushed at once, so a
// test can keep one oracle running and ask it one question at a time.
//
// Build (Debian packages golang-go, golang-gopkg-yaml.v2-dev, golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o oracle oracle.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var document string
		if err := json.Unmarshal(in.Bytes(), &document); err != nil {
			fmt.Fprintln(out, "ERR the input line is not a JSON string")
		} else if converted, err := yaml.YAMLToJSON([]byte(document)); err != nil {
			fmt.Fprintln(out, "ERR "+strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(out, string(converted))
		}
		out.Flush()
	}
}
