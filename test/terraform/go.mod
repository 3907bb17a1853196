module opengaap-terraform-check

go 1.26

require (
	github.com/hashicorp/terraform-plugin-sdk/v2 v2.20.0
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common v1.0.1196
	github.com/tencentcloudstack/terraform-provider-tencentcloud v1.82.10
)

require (
	github.com/agext/levenshtein v1.2.3 // indirect
	github.com/apparentlymart/go-textseg/v13 v13.0.0 // indirect
	github.com/aws/aws-sdk-go v1.36.30 // indirect
	github.com/clbanning/mxj v1.8.4 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/fatih/color v1.15.0 // indirect
	github.com/golang/protobuf v1.5.3 // indirect
	github.com/google/go-cmp v0.6.0 // indirect
	github.com/google/go-querystring v1.1.0 // indirect
	github.com/gopherjs/gopherjs v1.21.0 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-checkpoint v0.5.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-cty v1.4.1-0.20200414143053-d3edf31b6320 // indirect
	github.com/hashicorp/go-hclog v1.2.1 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hashicorp/go-plugin v1.4.4 // indirect
	github.com/hashicorp/go-uuid v1.0.3 // indirect
	github.com/hashicorp/go-version v1.6.0 // indirect
	github.com/hashicorp/hc-install v0.4.0 // indirect
	github.com/hashicorp/hcl/v2 v2.13.0 // indirect
	github.com/hashicorp/logutils v1.0.0 // indirect
	github.com/hashicorp/terraform-exec v0.17.2 // indirect
	github.com/hashicorp/terraform-json v0.14.0 // indirect
	github.com/hashicorp/terraform-plugin-go v0.12.0 // indirect
	github.com/hashicorp/terraform-plugin-log v0.7.0 // indirect
	github.com/hashicorp/terraform-registry-address v0.0.0-20220623143253-7d51757b572c // indirect
	github.com/hashicorp/terraform-svchost v0.0.0-20200729002733-f050f53b9734 // indirect
	github.com/hashicorp/yamux v0.0.0-20181012175058-2f1d1f20f75d // indirect
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/jtolds/gls v4.20.0+incompatible // indirect
	github.com/mattn/go-colorable v0.1.13 // indirect
	github.com/mattn/go-isatty v0.0.17 // indirect
	github.com/mitchellh/copystructure v1.2.0 // indirect
	github.com/mitchellh/go-homedir v1.1.0 // indirect
	github.com/mitchellh/go-testing-interface v1.14.1 // indirect
	github.com/mitchellh/go-wordwrap v1.0.0 // indirect
	github.com/mitchellh/mapstructure v1.5.0 // indirect
	github.com/mitchellh/reflectwalk v1.0.2 // indirect
	github.com/mozillazg/go-httpheader v0.4.0 // indirect
	github.com/oklog/run v1.0.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/smartystreets/assertions v1.13.1 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go-intl-en v3.0.1214+incompatible // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/antiddos v1.0.799 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/api v1.0.285 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/apigateway v1.0.763 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/apm v1.0.825 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/as v1.0.1164 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/bi v1.0.824 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cam v1.0.1071 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cat v1.0.825 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cbs v1.0.1153 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdb v1.0.944 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdc v1.0.1149 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdn v1.0.1010 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdwch v1.0.1129 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdwdoris v1.0.993 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cdwpg v1.0.1126 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cfs v1.0.627 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cfw v1.0.1018 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/chdfs v1.0.600 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ciam v1.0.695 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ckafka v1.0.1073 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/clb v1.0.1107 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cloudaudit v1.0.1033 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cls v1.0.1148 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/controlcenter v1.0.993 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/csip v1.0.860 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cvm v1.0.1153 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cwp v1.0.762 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cynosdb v1.0.1161 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dasb v1.0.970 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dayu v1.0.335 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dbbrain v1.0.652 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dc v1.0.633 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dcdb v1.0.673 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dlc v1.0.797 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dnspod v1.0.1056 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/domain v1.0.414 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/dts v1.0.628 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/eb v1.0.760 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/emr v1.0.1115 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/es v1.0.777 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap v1.0.970 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gwlb v1.0.1127 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/kms v1.0.1145 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/lighthouse v1.0.729 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/live v1.0.777 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/mariadb v1.0.672 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/mongodb v1.0.1096 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor v1.0.1149 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/mps v1.0.853 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/mqtt v1.0.1136 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/oceanus v1.0.831 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/organization v1.0.1038 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/postgres v1.0.1156 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/privatedns v1.0.1038 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/pts v1.0.762 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/redis v1.0.1008 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/region v1.0.920 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/rum v1.0.744 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf v1.0.1034 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ses v1.0.748 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sms v1.0.486 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sqlserver v1.0.1136 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ssl v1.0.1015 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ssm v1.0.691 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sts v1.0.1142 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tag v1.0.860 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tat v1.0.634 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcaplusdb v1.0.199 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcm v1.0.547 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcr v1.0.1142 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcss v1.0.1031 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tdcpg v1.0.533 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tdmq v1.0.955 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tem v1.0.578 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/teo v1.0.1182 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/thpc v1.0.998 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tke v1.0.1196 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/trocket v1.0.947 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tse v1.0.857 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tsf v1.0.674 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vod v1.0.860 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc v1.0.1154 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/waf v1.0.1170 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/wedata v1.0.792 // indirect
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/wss v1.0.199 // indirect
	github.com/tencentyun/cos-go-sdk-v5 v0.7.66 // indirect
	github.com/vmihailenco/msgpack v4.0.4+incompatible // indirect
	github.com/vmihailenco/msgpack/v4 v4.3.12 // indirect
	github.com/vmihailenco/tagparser v0.1.1 // indirect
	github.com/yangwenmai/ratelimit v0.0.0-20180104140304-44221c2292e1 // indirect
	github.com/zclconf/go-cty v1.10.0 // indirect
	golang.org/x/crypto v0.14.0 // indirect
	golang.org/x/net v0.17.0 // indirect
	golang.org/x/sys v0.23.0 // indirect
	golang.org/x/text v0.13.0 // indirect
	google.golang.org/appengine v1.6.7 // indirect
	google.golang.org/genproto v0.0.0-20230320184635-7606e756e683 // indirect
	google.golang.org/grpc v1.53.0 // indirect
	google.golang.org/protobuf v1.31.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)

// The Go module proxy reachable here refuses (403) these versions that
// provider v1.82.10 requires. The provider packages this check compiles
// (connectivity, common, services/gaap) only construct their clients, so
// older versions that the proxy serves stand in, and where it serves none
// (mqtt, monitor, postgres, tke, waf) a local stub with only NewClient. See README.md.
replace (
	github.com/tencentcloud/tencentcloud-sdk-go-intl-en => github.com/tencentcloud/tencentcloud-sdk-go-intl-en v3.0.646+incompatible
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/as => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/as v1.0.756
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cynosdb => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/cynosdb v1.0.692
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/monitor => ./stub/monitor
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/mqtt => ./stub/mqtt
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/postgres => ./stub/postgres
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcr => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tcr v1.0.696
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/teo => github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/teo v1.0.758
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tke => ./stub/tke
	github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/waf => ./stub/waf
)
