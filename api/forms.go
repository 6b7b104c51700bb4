package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
	"golang.org/x/time/rate"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/leadform"
	"github.com/rapportcrm/rapport/internal/service"
)

// FormMaxBodyBytes is the largest form submission accepted; a contact form is a few hundred bytes.
const FormMaxBodyBytes = 16 << 10

// DefaultFormPerMinute is the default ceiling of submissions per form per minute from all clients.
const DefaultFormPerMinute = 6000

// formHandler serves POST /forms/{key}: public lead capture without a login. It checks, in this
// order, the method, the content type (415), the form (404: unknown, deleted or inactive key), the
// browser origin (403), the per-IP and per-form rate limits (429 with Retry-After), the body size
// (413) and the submission (422), and stores nothing when any of them fails.
//
// The rate limits are in-process token buckets: N API processes accept up to N times the limits.
// The client IP is the connection's peer address; behind a reverse proxy, install a trusted
// client-IP middleware in front, or every visitor shares the proxy's bucket.
type formHandler struct {
	svc       *service.Service
	log       *slog.Logger
	perIP     *keyLimiter[formClient]
	perForm   *keyLimiter[crm.ID]
	perMinute int // ceiling per form, all clients together
}

type formClient struct {
	form crm.ID
	ip   string
}

func newFormHandler(svc *service.Service, log *slog.Logger, perMinute int) *formHandler {
	if perMinute <= 0 {
		perMinute = DefaultFormPerMinute
	}
	return &formHandler{svc: svc, log: log, perIP: newKeyLimiter[formClient](2 * time.Minute),
		perForm: newKeyLimiter[crm.ID](2 * time.Minute), perMinute: perMinute}
}

// formAnswer is the JSON body of every answer of the endpoint.
type formAnswer struct {
	OK      bool               `json:"ok"`
	Outcome string             `json:"outcome,omitempty"`
	Message string             `json:"message,omitempty"`
	Errors  []leadform.Problem `json:"errors"`
}

// outcomeReceived is the only outcome the public endpoint reports (see service.FormOutcome).
const outcomeReceived = "received"

func formError(w http.ResponseWriter, status int, message string, problems ...leadform.Problem) {
	if problems == nil {
		problems = []leadform.Problem{}
	}
	writeJSON(w, status, formAnswer{OK: false, Message: message, Errors: problems})
}

func (h *formHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		h.preflight(w, r)
	case http.MethodPost:
		h.submit(w, r)
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		formError(w, http.StatusMethodNotAllowed, "Post the form.")
	}
}

// form finds the form of the request's key and checks the request's origin against it. It writes
// the error answer and returns false when the request goes no further.
func (h *formHandler) form(w http.ResponseWriter, r *http.Request) (crm.LeadForm, bool) {
	f, err := h.svc.LeadFormByKey(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			formError(w, http.StatusNotFound, "No such form.")
		} else {
			h.internal(w, r, err)
		}
		return f, false
	}
	origin := r.Header.Get("Origin")
	if !leadform.AllowsOrigin(f, origin) {
		formError(w, http.StatusForbidden, "This form does not accept submissions from "+origin+".")
		return f, false
	}
	if origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	return f, true
}

// preflight answers a browser's CORS preflight with the form's allowed origins only.
func (h *formHandler) preflight(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		formError(w, http.StatusBadRequest, "A preflight request needs an Origin header.")
		return
	}
	if _, ok := h.form(w, r); !ok {
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (h *formHandler) submit(w http.ResponseWriter, r *http.Request) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	urlencoded := mediaType == "application/x-www-form-urlencoded"
	if !urlencoded && mediaType != "application/json" {
		formError(w, http.StatusUnsupportedMediaType, "Send application/x-www-form-urlencoded or application/json.")
		return
	}
	f, ok := h.form(w, r)
	if !ok {
		return
	}
	if !h.allow(w, r, f) {
		return
	}
	if r.ContentLength > FormMaxBodyBytes {
		formError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The submission is larger than %d bytes.", FormMaxBodyBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, FormMaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			formError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The submission is larger than %d bytes.", FormMaxBodyBytes))
		} else {
			formError(w, http.StatusBadRequest, "The submission could not be read.")
		}
		return
	}
	sub := service.FormSubmission{Referer: r.Header.Get("Referer"), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	var problem *leadform.Problem
	if urlencoded {
		sub.Values, sub.Payload, problem = decodeURLEncoded(body)
	} else {
		sub.Values, sub.Payload, problem = decodeJSON(body)
	}
	if problem != nil {
		formError(w, http.StatusUnprocessableEntity, problem.Reason, *problem)
		return
	}
	out, err := h.svc.SubmitLeadForm(r.Context(), f, sub)
	if err != nil {
		var e *crm.Error
		if errors.As(err, &e) && e.Code == crm.EINVALID {
			problems, _ := e.Details["problems"].([]leadform.Problem)
			if problems == nil {
				problems = []leadform.Problem{{Field: e.Field, Reason: e.Message}}
			}
			formError(w, http.StatusUnprocessableEntity, "The submission was not accepted; see errors.", problems...)
			return
		}
		h.internal(w, r, err)
		return
	}
	if urlencoded && f.RedirectURL != "" {
		http.Redirect(w, r, f.RedirectURL, http.StatusSeeOther)
		return
	}
	warnings := out.Warnings
	if warnings == nil {
		warnings = []leadform.Problem{}
	}
	writeJSON(w, http.StatusCreated, formAnswer{OK: true, Outcome: outcomeReceived, Errors: warnings})
}

// allow applies the per-IP limit of the form and then the form's overall ceiling.
func (h *formHandler) allow(w http.ResponseWriter, r *http.Request, f crm.LeadForm) bool {
	ip, _ := httprate.KeyByIP(r)
	perMinute := int(f.RatePerMinute)
	ok, wait := h.perIP.take(formClient{form: f.ID, ip: ip}, rate.Limit(float64(perMinute)/60), perMinute)
	message := fmt.Sprintf("This form accepts %d submissions a minute from one address; try again later.", perMinute)
	if ok {
		ok, wait = h.perForm.take(f.ID, rate.Limit(float64(h.perMinute)/60), max(1, h.perMinute/6))
		message = "This form is receiving too many submissions; try again later."
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		formError(w, http.StatusTooManyRequests, message)
	}
	return ok
}

func (h *formHandler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "form submission failed", "request_id", RequestID(r.Context()), "err", err)
	formError(w, http.StatusInternalServerError, "Internal error; it was logged.")
}

// decodeURLEncoded reads an urlencoded body: the first value of each key, and the whole body as a
// JSON object (repeated keys as arrays) for the raw payload. Text that is not UTF-8 (a page posting
// in GBK, say) is refused rather than stored as mojibake.
func decodeURLEncoded(body []byte) (map[string]string, json.RawMessage, *leadform.Problem) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, &leadform.Problem{Field: "", Reason: "The body is not valid application/x-www-form-urlencoded data."}
	}
	values := make(map[string]string, len(q))
	raw := make(map[string]any, len(q))
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return nil, nil, notUTF8("")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, nil, notUTF8(k)
			}
		}
		values[k] = vs[0]
		if len(vs) == 1 {
			raw[k] = vs[0]
		} else {
			raw[k] = vs
		}
	}
	payload, _ := json.Marshal(raw)
	return values, payload, nil
}

func notUTF8(field string) *leadform.Problem {
	return &leadform.Problem{Field: field, Reason: "The text is not UTF-8: serve the page as UTF-8 (<meta charset=\"utf-8\">) or add accept-charset=\"utf-8\" to the form."}
}

// decodeJSON reads a JSON object body. Strings, numbers and booleans are values; a "custom" object
// contributes "custom.<key>" values; anything else is kept only in the raw payload, which is the
// body itself.
func decodeJSON(body []byte) (map[string]string, json.RawMessage, *leadform.Problem) {
	if !utf8.Valid(body) {
		return nil, nil, notUTF8("")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, nil, &leadform.Problem{Field: "", Reason: "The body is not a JSON object."}
	}
	values := make(map[string]string, len(obj))
	for k, v := range obj {
		if k == "custom" {
			var custom map[string]json.RawMessage
			if json.Unmarshal(v, &custom) == nil {
				for ck, cv := range custom {
					if s, ok := scalar(cv); ok {
						values[leadform.CustomPrefix+ck] = s
					}
				}
			}
			continue
		}
		if s, ok := scalar(v); ok {
			values[k] = s
		}
	}
	return values, json.RawMessage(body), nil
}

// scalar returns a JSON string, number or boolean as text.
func scalar(v json.RawMessage) (string, bool) {
	var x any
	d := json.NewDecoder(strings.NewReader(string(v)))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return "", false
	}
	switch t := x.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}
