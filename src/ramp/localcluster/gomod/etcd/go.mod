// Wrapper module: builds etcd's server from its published module.
module ramp.local/tools/etcd

go 1.25

require go.etcd.io/etcd/server/v3 v3.6.13
