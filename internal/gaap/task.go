package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// DescribeTaskStatus reports an asynchronous call's progress: its TaskId
// is the RequestId of the call (or the TaskId Open/CloseSecurityPolicy
// return, the same value). RUNNING until the data plane applied the
// change, then SUCCESS, or FAIL when it refused it. Another account's or
// an unknown task is ResourceNotFound.
func (s *Service) DescribeTaskStatus(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeTaskStatusRequest) (*gaapapi.DescribeTaskStatusResponse, error) {
	id := trimmed(req.TaskId)
	if id == "" {
		// The parameter is optional on the wire but "must not be empty".
		return nil, apierr.New(apierr.MissingParameter, "the parameter TaskId is required and must not be empty")
	}
	var t *model.Task
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		t, err = resource.Get[model.Task](tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeTaskStatusResponse{Status: new(t.Status), TaskId: new(t.ID)}, nil
}
