-- 0005: ExpireClaims used to delete claims of every namespace, so a store
-- more than a retention old may have lost the marker (namespace
-- vpc/default, token the account) that says an account's default VPC was
-- made; the next serve would make a second one. Every account owning a
-- VPC made its first VPC call, which made the default VPC first: its
-- marker is restored. (An account whose marker went and whose VPCs were
-- all deleted gets one default VPC back; nothing records it any more.)
INSERT INTO claims (namespace, token, created)
	SELECT DISTINCT 'vpc/default', account, {{now_ns}} FROM resources WHERE kind = 'vpc'
	ON CONFLICT (namespace, token) DO NOTHING;
