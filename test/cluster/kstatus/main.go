// kstatus-check: reads a JSON array of Kubernetes objects on stdin and prints, as a JSON array, what
// sigs.k8s.io/cli-utils/pkg/kstatus computes for each — the status kubectl-style tools, Argo CD and Flux derive
// from an object's generation, observedGeneration and conditions. Used by the MedModel integration tests
// (test/integration/medmodel-kstatus.test.ts) as the real oracle, not a re-implementation.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(in, &raw); err != nil {
		fail(fmt.Errorf("stdin must be a JSON array of objects: %w", err))
	}
	out := make([]result, 0, len(raw))
	for _, r := range raw {
		u := &unstructured.Unstructured{}
		// UnmarshalJSON keeps integers as int64, which kstatus's generation check requires.
		if err := u.UnmarshalJSON(r); err != nil {
			fail(err)
		}
		res, err := status.Compute(u)
		if err != nil {
			fail(err)
		}
		out = append(out, result{Name: u.GetName(), Status: res.Status.String(), Message: res.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus-check:", err)
	os.Exit(1)
}
