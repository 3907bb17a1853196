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
