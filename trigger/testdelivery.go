package trigger

import (
	"fmt"
	"strings"
)

// DefaultEvent is the event a test of a trigger of kind k sends when none
// is given: push for github and gitlab, webhook for generic (what a
// request without X-Event is named), event for api.
func (k Kind) DefaultEvent() string {
	switch k {
	case GitHub, GitLab:
		return "push"
	case Generic:
		return "webhook"
	case API:
		return "event"
	case Schedule:
		return "schedule"
	case Runs:
		return "run.finished"
	}
	return ""
}

// TestDelivery returns the delivery a person's test event for a webhook or
// api trigger stands for: event (DefaultEvent when empty) with payload,
// and the request headers its sender would set, so that rules reading
// headers see what they would see. It has no delivery id and no digest:
// it is not a request anyone signed. An event name that breaks the rules
// of a webhook's is a *BadRequestError; schedule and runs triggers take no
// such event.
func (t *Trigger) TestDelivery(event string, payload any) (*Delivery, error) {
	if event == "" {
		event = t.Kind.DefaultEvent()
	}
	if !eventRe.MatchString(event) {
		return nil, &BadRequestError{Message: fmt.Sprintf("event name %s is not valid: use letters, digits and _ . : / - (at most 100)", quote(event))}
	}
	headers := map[string]string{"content-type": "application/json"}
	switch t.Kind {
	case GitHub:
		headers["x-github-event"] = event
	case GitLab:
		headers["x-gitlab-event"] = gitlabHeader(event)
	case Generic:
		headers["x-event"] = event
	case API:
	default:
		return nil, fmt.Errorf("trigger %s: %s triggers take no test payload", t.Name, t.Kind)
	}
	return &Delivery{Event: event, Payload: payload, Headers: headers}, nil
}

// gitlabHeader is the X-Gitlab-Event header that gitlabEvent reads as
// event: merge_request is "Merge Request Hook".
func gitlabHeader(event string) string {
	words := strings.Split(event, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ") + " Hook"
}
