"""Running the execution DAG on a Ray cluster (`heddle run --cluster ADDRESS`): a placement, not a second executor.

    session.py    connecting to a cluster (Ray is an optional extra: `heddle-lang[ray]`)
    placement.py  `RayPlacement`: where the executor's units run — relational units as Ray tasks, step calls in
                  one host actor per cluster node and run; tables stay in Ray's object store as object refs
    host.py       the host actor: the run's shipped plugin versions, its resources, step calls and lookups
    tasks.py      what runs in a Ray task: relational units, whole or per partition, and partition plumbing
    output.py     what a plugin prints or logs on the cluster, sent back with its call's answer
    data.py       `PlacedData`: a node's output held in the object store (one ref per partition)
    partition.py  which units may run per partition (row-local work) and how aggregations combine

The executor (`execute/executor.py`) keeps the node state machine, retries, handlers, row accounting, secrets
and lineage; it asks the placement to run a unit's work and gets `Data` back.
"""
