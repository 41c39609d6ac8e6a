package httpcap_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
)

// A plugin granted 127.0.0.1 reaches that host, and only that host.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello from %s %s", r.Method, r.URL.Path)
	}))
	defer srv.Close()

	c, err := httpcap.New([]string{"127.0.0.1"}, httpcap.Config{})
	if err != nil {
		panic(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()

	resp, err := c.Do(ctx, abi.HTTPRequest{URL: srv.URL + "/greeting", TimeoutMS: 5000})
	fmt.Println(resp.Status, resp.Headers["Content-Type"], string(resp.Body), err)

	_, err = c.Do(ctx, abi.HTTPRequest{Method: "POST", URL: "https://example.com/steal"})
	status, payload := httpcap.StatusOf(err)
	fmt.Println(status, payload.Code, payload.Retryable)
	fmt.Println(httpcap.Service("https://example.com/steal"))
	// Output:
	// 200 [text/plain] hello from GET /greeting <nil>
	// denied denied false
	// http:example.com
}
