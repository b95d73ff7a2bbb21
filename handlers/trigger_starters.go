package handlers

import (
	"strings"

	"baton/trigger"
)

// starterKinds are the kinds a new trigger can start from, in the order
// the page offers them.
func starterKinds() []trigger.Kind {
	return []trigger.Kind{trigger.GitHub, trigger.GitLab, trigger.Generic, trigger.API, trigger.Schedule, trigger.Runs}
}

// starterName is the name a new trigger of a kind is offered first.
func starterName(k trigger.Kind) string {
	switch k {
	case trigger.Generic:
		return "alerts"
	case trigger.API:
		return "ci"
	case trigger.Schedule:
		return "nightly"
	case trigger.Runs:
		return "after-runs"
	}
	return string(k)
}

// starter is where a new trigger of kind k starts: a small working file
// named name whose rules start composition comp, with comments that say
// what to change.
func starter(k trigger.Kind, name, comp string) string {
	var src string
	switch k {
	case trigger.GitHub:
		src = `name: NAME
kind: github
description: Builds what is pushed to main.
# GitHub signs every delivery with a secret you choose. Keep it in an
# environment variable of the server (set where baton serve runs), or
# write secret: VALUE instead. Give GitHub the same value.
secret_env: GITHUB_WEBHOOK_SECRET
rules:
  - name: build main
    when: 'event == "push" && payload.ref == "refs/heads/main"'
    run:
      composition: COMP
      # params: {version: "${{ payload.after }}"}
`
	case trigger.GitLab:
		src = `name: NAME
kind: gitlab
description: Builds what is pushed to main.
# GitLab sends this secret token in X-Gitlab-Token. Keep it in an
# environment variable of the server, or write secret: VALUE instead.
secret_env: GITLAB_WEBHOOK_TOKEN
rules:
  - name: build main
    when: 'event == "push" && payload.ref == "refs/heads/main"'
    run:
      composition: COMP
      # params: {version: "${{ payload.checkout_sha }}"}
`
	case trigger.Generic:
		src = `name: NAME
kind: generic
description: Alerts from monitoring, signed with an HMAC of the body.
secret_env: ALERTS_WEBHOOK_SECRET
auth: {mode: hmac, header: X-Signature-256}   # or {mode: bearer}
rules:
  - name: disk full
    when: 'payload.status == "firing" && payload.labels.alertname == "DiskFull"'
    run:
      composition: COMP
      # params: {host: "${{ payload.labels.instance }}"}
`
	case trigger.API:
		src = `name: NAME
kind: api
description: Events another system posts with an API token, such as a CI server.
rules:
  - name: build finished
    when: 'event == "build.finished" && payload.result == "success"'
    run:
      composition: COMP
      # params: {artifact: "${{ payload.artifact }}"}
`
	case trigger.Schedule:
		src = `name: NAME
kind: schedule
description: Every night at three.
schedule: "0 3 * * *"      # minute hour day-of-month month day-of-week, or @daily, @every 90m
timezone: UTC              # an IANA name such as Europe/Berlin
catch_up: false            # after downtime, start one run for the latest missed time
overlap: false             # start nothing while the last run is still going
run:
  composition: COMP
`
	default:
		src = `name: NAME
kind: runs
description: Follows the end of runs.
rules:
  - name: after COMP failed
    when: 'payload.composition == "COMP" && payload.status == "failed"'
    run:
      composition: notify-team
      # params: {reason: "${{ payload.error }}", run_id: "${{ payload.id }}"}
`
	}
	return strings.NewReplacer("NAME", name, "COMP", comp).Replace(src)
}

// sampleEvents are event names a kind's sender uses, offered in the test
// form.
func sampleEvents(k trigger.Kind) []string {
	switch k {
	case trigger.GitHub:
		return []string{"push", "pull_request", "release", "workflow_run", "ping"}
	case trigger.GitLab:
		return []string{"push", "tag_push", "merge_request", "pipeline", "release"}
	case trigger.Generic:
		return []string{"webhook", "alert"}
	case trigger.API:
		return []string{"event", "build.finished"}
	}
	return nil
}

// samplePayload is a small realistic body for a kind's usual event.
func samplePayload(k trigger.Kind) string {
	switch k {
	case trigger.GitHub:
		return `{
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "repository": {"full_name": "octo-org/hello-world", "default_branch": "main"},
  "pusher": {"name": "octocat", "email": "octocat@example.com"},
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Fix the login form"}
}`
	case trigger.GitLab:
		return `{
  "object_kind": "push",
  "ref": "refs/heads/main",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_username": "jsmith",
  "project": {"path_with_namespace": "group/app", "default_branch": "main"},
  "commits": [{"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "Fix the login form"}]
}`
	case trigger.Generic:
		return `{
  "status": "firing",
  "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"},
  "annotations": {"summary": "Disk 92% full on db-1"}
}`
	case trigger.API:
		return `{
  "result": "success",
  "build": 4711,
  "artifact": "app-2.1.0.tar"
}`
	}
	return ""
}
