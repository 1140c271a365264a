//go:build wasip1

// Command OnDoc is a storage test function, triggered by a blob
// docs/{name}.txt (as a string). It copies the blob to copies/{name}.txt
// (blob output "copy") and puts on the "done" queue a report of what it
// received: the blob's text, the {name} and Uri trigger metadata, the
// blob's length from Properties, and the content of blob input "settings"
// (config/settings.txt, as bytes: base64), "null" when that blob does not
// exist.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
)

// decode undoes the host's second JSON encoding of a string value.
func decode(s string) string {
	var v string
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	return v
}

func main() {
	var in struct {
		Data struct {
			Doc      string `json:"doc"`
			Settings string `json:"settings"`
		} `json:"Data"`
		Metadata struct {
			Name       string `json:"name"`
			URI        string `json:"Uri"`
			Properties struct {
				ContentLength int64 `json:"ContentLength"`
			} `json:"Properties"`
		} `json:"Metadata"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "OnDoc: bad invocation payload:", err)
		os.Exit(1)
	}
	settings := "null"
	if in.Data.Settings != "null" {
		b, err := base64.StdEncoding.DecodeString(in.Data.Settings)
		if err != nil {
			fmt.Fprintln(os.Stderr, "OnDoc: settings is not base64:", err)
			os.Exit(1)
		}
		settings = string(b)
	}
	text := decode(in.Data.Doc)
	report := map[string]any{
		"name":     decode(in.Metadata.Name),
		"uri":      decode(in.Metadata.URI),
		"length":   in.Metadata.Properties.ContentLength,
		"text":     text,
		"settings": settings,
	}
	out := map[string]any{"Outputs": map[string]any{"copy": "copy of " + text, "done": report}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
