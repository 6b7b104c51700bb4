package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// accountNamed returns the global IDs of a demo account visible to who and of its first contact.
func (s *server) accountNamed(who, name string) (account, contact string) {
	s.t.Helper()
	r := s.do(who, `query($q: String) { accounts(first: 5, filter: {search: $q}) { nodes { id name contacts(first: 1) { id } } } }`,
		map[string]any{"q": name})
	require.Empty(s.t, r.Errors)
	require.Equal(s.t, name, dig(r.Data, "accounts", "nodes", 0, "name"))
	account, _ = dig(r.Data, "accounts", "nodes", 0, "id").(string)
	contact, _ = dig(r.Data, "accounts", "nodes", 0, "contacts", 0, "id").(string)
	return account, contact
}

const logActivity = `mutation($in: LogActivityInput!) { logActivity(input: $in) { replayed activity { id type direction
  durationSeconds recordId record { ... on Account { name } ... on Contact { name } } owner { name }
  participantUsers { name } participantContacts { name } } } }`

func TestActivitiesAndTimelineThroughGraphQL(t *testing.T) {
	s := newServer(t)
	acct, contact := s.accountNamed("rep1", "杭州云栖科技有限公司")
	viewer := s.do("rep1", `{ viewer { id name } }`, nil)
	me := dig(viewer.Data, "viewer", "id")

	call := s.do("rep1", logActivity, map[string]any{"in": map[string]any{"type": "CALL", "recordId": acct, "direction": "OUTBOUND",
		"durationSeconds": 300, "subject": "Discovery", "occurredAt": time.Now().Add(-2 * time.Hour).Format(time.RFC3339),
		"participantUserIds": []any{me}, "participantContactIds": []any{contact}, "idempotencyKey": "call-1"}})
	require.Empty(t, call.Errors)
	act := dig(call.Data, "logActivity", "activity").(map[string]any)
	require.Equal(t, "CALL", act["type"])
	require.Equal(t, "OUTBOUND", act["direction"])
	require.Equal(t, acct, act["recordId"])
	require.Equal(t, "杭州云栖科技有限公司", dig(act, "record", "name"))
	require.Equal(t, dig(viewer.Data, "viewer", "name"), dig(act, "owner", "name"))
	require.Len(t, act["participantUsers"], 1)
	require.Len(t, act["participantContacts"], 1)

	note := s.do("rep1", logActivity, map[string]any{"in": map[string]any{"type": "NOTE", "recordId": contact, "body": "Prefers WeChat"}})
	require.Empty(t, note.Errors)
	noteID := dig(note.Data, "logActivity", "activity", "id")

	bad := s.do("rep1", logActivity, map[string]any{"in": map[string]any{"type": "NOTE", "recordId": acct, "direction": "INBOUND"}})
	require.Equal(t, "BAD_USER_INPUT", bad.code())
	require.Equal(t, "direction", bad.Errors[0].Extensions["field"])
	bad = s.do("rep1", logActivity, map[string]any{"in": map[string]any{"type": "CALL", "recordId": me}})
	require.Equal(t, "BAD_USER_INPUT", bad.code())
	require.Equal(t, "recordId", bad.Errors[0].Extensions["field"])

	const timeline = `query($id: ID!, $after: String) { timeline(recordId: $id, first: 1, after: $after) {
	  edges { cursor node { id type } } pageInfo { hasNextPage endCursor } } }`
	var ids []any
	var after any
	for range 5 {
		r := s.do("rep1", timeline, map[string]any{"id": acct, "after": after})
		require.Empty(t, r.Errors)
		ids = append(ids, dig(r.Data, "timeline", "edges", 0, "node", "id"))
		if dig(r.Data, "timeline", "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(r.Data, "timeline", "pageInfo", "endCursor")
	}
	require.Equal(t, []any{noteID, act["id"]}, ids, "the account's timeline has its contact's note (newer) and its own call")

	r := s.do("rep2", timeline, map[string]any{"id": acct})
	require.Equal(t, "NOT_FOUND", r.code(), "rep2 does not see rep1's account")
	node := `query($id: ID!) { node(id: $id) { ... on Activity { id subject } } }`
	r = s.do("rep2", node, map[string]any{"id": act["id"]})
	require.Empty(t, r.Errors)
	require.Nil(t, r.Data["node"])
	r = s.do("manager", node, map[string]any{"id": act["id"]})
	require.Equal(t, "Discovery", dig(r.Data, "node", "subject"))
}

func TestTasksAndNotificationsThroughGraphQL(t *testing.T) {
	s := newServer(t)
	acct, _ := s.accountNamed("rep1", "杭州云栖科技有限公司")
	rep1 := dig(s.do("rep1", `{ viewer { id } }`, nil).Data, "viewer", "id")
	due := time.Now().Add(48 * time.Hour).UTC()

	const create = `mutation($in: CreateTaskInput!) { createTask(input: $in) { replayed task { id title kind priority status
	  version dueAt remindAt owner { name } recordId record { ... on Account { name } } } } }`
	r := s.do("manager", create, map[string]any{"in": map[string]any{"title": "Prepare proposal", "ownerId": rep1,
		"dueAt": due.Format(time.RFC3339), "remindAt": due.Add(-time.Hour).Format(time.RFC3339), "priority": "HIGH", "recordId": acct}})
	require.Empty(t, r.Errors)
	task := dig(r.Data, "createTask", "task").(map[string]any)
	require.Equal(t, "MANUAL", task["kind"])
	require.Equal(t, "HIGH", task["priority"])
	require.Equal(t, "OPEN", task["status"])
	require.Equal(t, "杭州云栖科技有限公司", dig(task, "record", "name"))

	r = s.do("manager", create, map[string]any{"in": map[string]any{"title": "x", "dueAt": due.Format(time.RFC3339),
		"remindAt": due.Add(time.Hour).Format(time.RFC3339)}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "remindAt", r.Errors[0].Extensions["field"])

	const tasks = `query($f: TaskFilter) { tasks(filter: $f) { edges { cursor node { id title owner { name } } } } }`
	r = s.do("rep1", tasks, nil)
	require.Empty(t, r.Errors)
	var ids, owners []any
	for _, e := range dig(r.Data, "tasks", "edges").([]any) {
		ids, owners = append(ids, dig(e, "node", "id")), append(owners, dig(e, "node", "owner", "name"))
	}
	require.Contains(t, ids, task["id"], "rep1's open tasks by default")
	require.Len(t, ids, 3, "the new task and the first-contact tasks of rep1's two demo deals")
	for _, o := range owners {
		require.Equal(t, "王伟 Wang Wei", o)
	}
	r = s.do("rep2", tasks, map[string]any{"f": map[string]any{"ownerIds": []any{rep1}}})
	require.Empty(t, r.Errors)
	require.Empty(t, dig(r.Data, "tasks", "edges"), "rep2 does not see rep1's tasks")

	r = s.do("rep1", `mutation($id: ID!, $v: Int!) { updateTask(input: {id: $id, expectedVersion: $v, status: DONE}) { task { status completedAt version } } }`,
		map[string]any{"id": task["id"], "v": task["version"]})
	require.Empty(t, r.Errors)
	require.Equal(t, "DONE", dig(r.Data, "updateTask", "task", "status"))
	require.NotNil(t, dig(r.Data, "updateTask", "task", "completedAt"))
	r = s.do("rep1", tasks, map[string]any{"f": map[string]any{"statuses": []any{"DONE"}}})
	require.Len(t, dig(r.Data, "tasks", "edges"), 1)

	const inbox = `query($unread: Boolean) { notifications(unreadOnly: $unread) { unreadCount
	  nodes { id kind title readAt recordId record { ... on Task { title } } } } }`
	r = s.do("rep1", inbox, nil)
	require.Empty(t, r.Errors)
	require.EqualValues(t, 1, dig(r.Data, "notifications", "unreadCount"))
	require.Equal(t, "task_assigned", dig(r.Data, "notifications", "nodes", 0, "kind"))
	require.Equal(t, "Prepare proposal", dig(r.Data, "notifications", "nodes", 0, "record", "title"))
	nid := dig(r.Data, "notifications", "nodes", 0, "id")
	r = s.do("manager", `query($id: ID!) { node(id: $id) { ... on Notification { title } } }`, map[string]any{"id": nid})
	require.Nil(t, r.Data["node"], "only the recipient reads a notification")

	r = s.do("rep1", `mutation { markNotificationsRead(input: {}) { marked unreadCount } }`, nil)
	require.Empty(t, r.Errors)
	require.EqualValues(t, 1, dig(r.Data, "markNotificationsRead", "marked"))
	require.EqualValues(t, 0, dig(r.Data, "markNotificationsRead", "unreadCount"))
	r = s.do("rep1", inbox, map[string]any{"unread": true})
	require.Empty(t, dig(r.Data, "notifications", "nodes"))
}

// Notifications arrive live over server-sent events, only to their recipient.
func TestNotificationReceivedOverSSE(t *testing.T) {
	s := newServer(t)
	s.relayAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	go func() { _ = s.hub.Run(ctx) }()
	go func() { _ = s.relay.Run(ctx) }()
	rep1 := dig(s.do("rep1", `{ viewer { id } }`, nil).Data, "viewer", "id")
	rep2 := dig(s.do("rep2", `{ viewer { id } }`, nil).Data, "viewer", "id")

	lines := s.sse(ctx, "rep1", `{"query":"subscription { notificationReceived { cursor notification { kind title record { ... on Task { title } } } } }"}`)
	created := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // let the subscription register; a later one is caught up anyway
		const create = `mutation($in: CreateTaskInput!) { createTask(input: $in) { task { id } } }`
		for _, in := range []map[string]any{{"title": "For rep2 only", "ownerId": rep2}, {"title": "Live for rep1", "ownerId": rep1}} {
			if r := s.do("manager", create, map[string]any{"in": in}); len(r.Errors) > 0 {
				created <- fmt.Errorf("%v", r.Errors)
			}
		}
		close(created)
	}()
	for line := range lines {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || !strings.Contains(data, "notificationReceived") {
			continue
		}
		require.NotContains(t, data, "For rep2 only", "rep2's notification reached rep1")
		require.Contains(t, data, "New task: Live for rep1")
		require.Contains(t, data, `"cursor"`)
		require.NoError(t, <-created)
		return
	}
	t.Fatal("the event stream ended without the notification")
}
