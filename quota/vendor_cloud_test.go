package quota

import (
	"testing"
	"time"
)

// Azure Resource Manager: x-ms-ratelimit-remaining-subscription-reads /
// -writes / -tenant-reads (remaining count only) and 429 with Retry-After:
//   https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling
// Compute resource provider: x-ms-ratelimit-remaining-resource
// "<source RP>/<policy or bucket>;<count>", comma-separated or one header
// per policy, and the 429 OperationNotAllowed example:
//   https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors
// Microsoft Graph: 429 with Retry-After:
//   https://learn.microsoft.com/en-us/graph/throttling

var vcMicrosoftCases = []vcCase{
	{
		name: "SubscriptionReadsRemainingOnly",
		resp: Response{Status: 200, Host: "management.azure.com", Header: vcH(
			"x-ms-ratelimit-remaining-subscription-reads", "11999",
			"x-ms-request-id", "9c9d8f3e-1b7a-4a3e-9a43-1f0e2d4c5b6a",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{vcQ("subscription-reads").rem(11999)},
	},
	{
		name: "SubscriptionWritesAndTenantReads",
		resp: Response{Status: 201, Host: "management.azure.com", Header: vcH(
			"x-ms-ratelimit-remaining-subscription-writes", "1199",
			"x-ms-ratelimit-remaining-tenant-reads", "11998",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{
			vcQ("subscription-writes").rem(1199),
			vcQ("tenant-reads").rem(11998),
		},
	},
	{
		name: "ComputeResourcePoliciesCommaSeparated",
		resp: Response{Status: 200, Host: "management.azure.com", Header: vcH(
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/HighCostGet3Min;107,Microsoft.Compute/HighCostGet30Min;527",
			"x-ms-ratelimit-remaining-subscription-reads", "11997",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{
			vcQ("Microsoft.Compute/HighCostGet3Min").rem(107),
			vcQ("Microsoft.Compute/HighCostGet30Min").rem(527),
			vcQ("subscription-reads").rem(11997),
		},
	},
	{
		name: "ComputeResourcePolicyPerHeaderLine",
		resp: Response{Status: 202, Header: vcH(
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/DeleteVMScaleSet3Min;107",
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/DeleteVMScaleSet30Min;587",
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/VMScaleSetBatchedVMRequests5Min;3704",
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/VmssQueuedVMOperations;4720",
			"x-ms-request-charge", "0",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{
			vcQ("Microsoft.Compute/DeleteVMScaleSet3Min").rem(107),
			vcQ("Microsoft.Compute/DeleteVMScaleSet30Min").rem(587),
			vcQ("Microsoft.Compute/VMScaleSetBatchedVMRequests5Min").rem(3704),
			vcQ("Microsoft.Compute/VmssQueuedVMOperations").rem(4720),
		},
	},
	{
		name: "ComputeThrottled429RetryAfter",
		resp: Response{Status: 429, Host: "management.azure.com", Header: vcH(
			"x-ms-ratelimit-remaining-resource", "Microsoft.Compute/HighCostGet3Min;0,Microsoft.Compute/HighCostGet30Min;31",
			"Retry-After", "168",
			"Content-Type", "application/json; charset=utf-8",
		), Body: []byte(`{
  "code": "OperationNotAllowed",
  "message": "The server rejected the request because too many requests have been received for this subscription.",
  "details": [
    {
      "code": "TooManyRequests",
      "target": "HighCostGet3Min",
      "message": "{\"operationGroup\":\"HighCostGet3Min\",\"startTime\":\"2018-06-29T19:54:21.0914017+00:00\",\"endTime\":\"2018-06-29T19:57:21.0914017+00:00\",\"allowedRequestCount\":240,\"measuredRequestCount\":249}"
    }
  ]
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 168 * time.Second, waitSource: "retry-after",
		vendor: "microsoft",
		quotas: []vcQuota{
			vcQ("Microsoft.Compute/HighCostGet3Min").rem(0),
			vcQ("Microsoft.Compute/HighCostGet30Min").rem(31),
		},
	},
	{
		name: "Graph429RetryAfter",
		resp: Response{Status: 429, Host: "graph.microsoft.com", Header: vcH(
			"Retry-After", "10",
			"request-id", "a15c7ea4-d7e4-4d57-9cf0-d5b8fd22aad0",
			"client-request-id", "a15c7ea4-d7e4-4d57-9cf0-d5b8fd22aad0",
		), Body: []byte(`{
  "error": {
    "code": "TooManyRequests",
    "message": "Please retry again later.",
    "innerError": {
      "code": "429",
      "date": "2020-08-18T12:51:51",
      "request-id": "a15c7ea4-d7e4-4d57-9cf0-d5b8fd22aad0"
    }
  }
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 10 * time.Second, waitSource: "retry-after",
		vendor: "microsoft",
	},
	{
		// Remaining 0 with no reset in the response: nothing to wait for
		// on a 200, and the quota is still reported.
		name: "ExhaustedReadsWithoutResetLowerCase",
		resp: Response{Status: 200, Header: vcRawH(
			"x-ms-ratelimit-remaining-subscription-reads", "0",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{vcQ("subscription-reads").rem(0)},
	},
}

// AWS: JSON protocols name the error in the X-Amzn-Errortype header or the
// body's __type, possibly followed by ":<uri>" or preceded by "<namespace>#":
//   https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization
// ThrottlingException answered with HTTP 400 (AWS KMS example):
//   https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html
//   https://repost.aws/knowledge-center/kms-throttlingexception-error

var vcAWSCases = []vcCase{
	{
		name: "ThrottlingException400HeaderAndBody",
		resp: Response{Status: 400, Host: "kms.us-east-1.amazonaws.com", Header: vcH(
			"x-amzn-RequestId", "3a1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
			"x-amzn-ErrorType", "ThrottlingException",
			"Content-Type", "application/x-amz-json-1.1",
		), Body: []byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "aws",
	},
	{
		name: "ThrottlingExceptionHeaderWithURISuffix",
		resp: Response{Status: 400, Header: vcH(
			"x-amzn-RequestId", "3a1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5e",
			"X-Amzn-Errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/",
			"Content-Type", "application/x-amz-json-1.0",
		), Body: []byte(`{"message":"Rate exceeded"}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "aws",
	},
	{
		name: "ThrottlingExceptionBodyTypeWithNamespace",
		resp: Response{Status: 400, Host: "dynamodb.us-east-1.amazonaws.com", Header: vcH(
			"x-amzn-RequestId", "JHJC1QBSPRIGKB9L3R3H4P7B3VVV4KQNSO5AEMVJF66Q9ASUAAJG",
			"Content-Type", "application/x-amz-json-1.0",
		), Body: []byte(`{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "aws",
	},
	{
		name: "ValidationException400IsNotLimited",
		resp: Response{Status: 400, Host: "kms.us-east-1.amazonaws.com", Header: vcH(
			"x-amzn-RequestId", "3a1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5f",
			"x-amzn-ErrorType", "ValidationException",
			"Content-Type", "application/x-amz-json-1.1",
		), Body: []byte(`{"__type":"ValidationException","message":"1 validation error detected"}`)},
		vendor: "aws",
	},
}

func TestVendorMicrosoft(t *testing.T) { vcRun(t, vcMicrosoftCases) }

func TestVendorAWS(t *testing.T) { vcRun(t, vcAWSCases) }
