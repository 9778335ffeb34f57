package otel_test

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP trace receiver at the wire: it checks each
// export request as an OpenTelemetry Collector does (method, path,
// content type, encoding, size, a decodable ExportTraceServiceRequest with
// well-formed span and trace IDs, the API key header when one is
// required) and answers with the protocol's shapes: an
// ExportTraceServiceResponse on success, a google.rpc.Status otherwise.
type collector struct {
	srv    *httptest.Server
	path   string // "/v1/traces" unless set before the first request
	apiKey string // required in x-api-key when set

	countOnly bool          // keep no requests, only count spans (benchmarks)
	hold      chan struct{} // when set, requests wait until it is closed

	mu       sync.Mutex
	counted  int
	requests []*coltracepb.ExportTraceServiceRequest
	headers  []http.Header
	faults   []fault // answered to the next requests, in order
	rejected int
}

// fault is an error answer: status code, Retry-After ("" for none) and
// the Status message.
type fault struct {
	code       int
	retryAfter string
	message    string
}

const maxExportBody = 4 << 20

func newCollector(t testing.TB) *collector {
	c := &collector{path: "/v1/traces"}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	if c.hold != nil {
		<-c.hold
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reject := func(code int, msg string) {
		c.rejected++
		answerStatus(w, code, "", msg)
	}
	switch {
	case r.URL.Path != c.path:
		reject(http.StatusNotFound, "no such path "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		reject(http.StatusMethodNotAllowed, r.Method+" not allowed")
		return
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		reject(http.StatusUnsupportedMediaType, "content type "+r.Header.Get("Content-Type"))
		return
	case c.apiKey != "" && r.Header.Get("x-api-key") != c.apiKey:
		// Some services echo what they got: the exporter must not pass it on.
		reject(http.StatusUnauthorized, "invalid API key "+r.Header.Get("x-api-key"))
		return
	}
	if len(c.faults) > 0 {
		f := c.faults[0]
		c.faults = c.faults[1:]
		answerStatus(w, f.code, f.retryAfter, f.message)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxExportBody)
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			reject(http.StatusBadRequest, "bad gzip: "+err.Error())
			return
		}
		body = io.LimitReader(gz, maxExportBody+1)
	default:
		reject(http.StatusUnsupportedMediaType, "content encoding "+r.Header.Get("Content-Encoding"))
		return
	}
	raw, err := io.ReadAll(body)
	switch {
	case err != nil:
		reject(http.StatusRequestEntityTooLarge, err.Error())
		return
	case len(raw) > maxExportBody:
		reject(http.StatusRequestEntityTooLarge, "over "+strconv.Itoa(maxExportBody)+" bytes")
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, req); err != nil {
		reject(http.StatusBadRequest, "not an ExportTraceServiceRequest: "+err.Error())
		return
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if len(s.TraceId) != 16 || len(s.SpanId) != 8 || (len(s.ParentSpanId) != 0 && len(s.ParentSpanId) != 8) ||
					s.Name == "" || s.EndTimeUnixNano < s.StartTimeUnixNano {
					reject(http.StatusBadRequest, "malformed span "+s.Name)
					return
				}
			}
		}
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.counted += len(ss.Spans)
		}
	}
	if !c.countOnly {
		c.requests = append(c.requests, req)
	}
	c.headers = append(c.headers, r.Header.Clone())
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func answerStatus(w http.ResponseWriter, code int, retryAfter, msg string) {
	out, _ := proto.Marshal(&rpcstatus.Status{Code: grpcCode(code), Message: msg})
	w.Header().Set("Content-Type", "application/x-protobuf")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(code)
	_, _ = w.Write(out)
}

// grpcCode is the gRPC code OTLP pairs with an HTTP status.
func grpcCode(httpCode int) int32 {
	switch httpCode {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	case http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	}
	return 2 // UNKNOWN
}

// received is one span as the collector decoded it, with its resource and
// scope.
type received struct {
	span     *tracepb.Span
	resource map[string]string
	scope    string
}

func (c *collector) spans() map[string]received {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]received{}
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			res := kvs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					m[s.Name] = received{span: s, resource: res, scope: ss.GetScope().GetName()}
				}
			}
		}
	}
	return m
}

func kvs(attrs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range attrs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
		default:
			m[kv.Key] = kv.Value.String()
		}
	}
	return m
}

func spanID(b []byte) string { return hex.EncodeToString(b) }
