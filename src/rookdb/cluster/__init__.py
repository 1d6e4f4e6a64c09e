"""The cluster: nodes registered in etcd under leases, the shared cluster key, the topology.

Opt-in (`rookdb serve --cluster ...`); a node without it is the single-node
product, with no etcd anywhere. The cluster state itself (databases, tasks,
status, keys) lives in `rookdb.system.etcd`.
"""
