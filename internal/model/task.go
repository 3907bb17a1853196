package model

// Task statuses (DescribeTaskStatus).
const (
	TaskRunning = "RUNNING"
	TaskSuccess = "SUCCESS"
	TaskFail    = "FAIL"
)

// KindTask is the stored kind of Task.
const KindTask = "task"

// Task tracks an asynchronous action; its ID is the RequestId of the call
// that started it, as DescribeTaskStatus expects.
type Task struct {
	Base
	Action string `json:"action"`
	Status string `json:"status"`
	// Objects are the IDs the task waits for; a failure of any fails it.
	Objects []string `json:"objects,omitempty"`
	// Keeps are those of Objects the call leaves in place, all but those
	// it deletes: the removal of one before a pass applied it (by a later
	// call, or with its parent) fails the task too. A task stored before
	// the field existed has none, and is not checked for removals.
	Keeps   []string `json:"keeps,omitempty"`
	Message string   `json:"message,omitempty"`
}

func (t *Task) Kind() string { return KindTask }

// Parent is the task's status: a task has no owning resource, and the
// stored parent column is indexed, so the controller can read only the
// running tasks and expiry only the finished ones.
func (t *Task) Parent() string { return t.Status }
func (t *Task) Project() int64 { return 0 }

// Settle completes the task: everything it waited for was applied.
func (t *Task) Settle() (changed, remove bool) {
	if t.Status != TaskRunning {
		return false, false
	}
	t.Status = TaskSuccess
	return true, false
}

// Finish ends the task after a pass that applied its objects, and reports
// whether it changed. It fails with the data plane's reason if that could
// not apply one of its objects (failed, by ID), and if one of those it
// keeps was removed in the pass (removed): a change removed before it was
// applied never applied, so only a deletion's own objects may go. It stays
// running while one of its objects is unsettled, changed by a write that
// landed during the pass: success would tell the client the object is in
// the state it asked for (a domain disabled, so deletable) while the store
// still says otherwise, until the next pass settles it. It succeeds
// otherwise.
func (t *Task) Finish(failed map[string]string, removed, unsettled map[string]bool) bool {
	if t.Status != TaskRunning {
		return false
	}
	for _, id := range t.Objects {
		if why, ok := failed[id]; ok {
			t.Status, t.Message = TaskFail, why
			return true
		}
	}
	for _, id := range t.Keeps {
		if removed[id] {
			t.Status, t.Message = TaskFail, id+" was removed before it was applied"
			return true
		}
	}
	for _, id := range t.Objects {
		if unsettled[id] {
			return false
		}
	}
	changed, _ := t.Settle()
	return changed
}
