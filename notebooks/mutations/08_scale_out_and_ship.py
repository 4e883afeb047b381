"""Chapter 08: wrong answers that pass each exercise's visible check; the hidden tests must fail every one. Instructor material."""

_LOCAL = '''def local_mean_gradients(z_global):
    z_dist = next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(z_global))))

    def one_replica(z):
        with tf.GradientTape() as tape:
            loss = {loss}
        return tape.gradient(loss, mapping.trainable_variables)

    per_replica = strategy.run(one_replica, args=(z_dist,))
    return {reduce}'''
_SUM = "[strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in per_replica]"

_CHECK = '''def check_generate(z, psi, z_dim):
    z, psi = np.asarray(z), np.asarray(psi)
{z_checks}
{finite_z}
{psi_checks}
{range_check}'''
_Z_OK = '''    if z.dtype != np.float32 or z.ndim != 2 or z.shape[1] != z_dim:
        raise ValueError(f"z must be float32 [N, {z_dim}], got {z.dtype} {z.shape}")'''
_FINITE_Z = '''    if not np.all(np.isfinite(z)):
        raise ValueError("z must be finite (no NaN or Inf)")'''
_PSI_OK = '''    if psi.dtype != np.float32 or psi.shape != ():
        raise ValueError(f"psi must be a float32 scalar, got {psi.dtype} {psi.shape}")'''
_RANGE_OK = '''    if not (np.isfinite(psi) and -1.0 <= psi <= 1.0):
        raise ValueError(f"psi must be in [-1, 1], got {psi}")'''

MUTATIONS = {
    "ex1_replica_rows": [
        ("every N-th row (interleaved) instead of a block", '''def replica_rows(x, replica_id, num_replicas):
    return np.asarray(x)[replica_id::num_replicas]'''),
        ("np.array_split: the first replicas get one row more when N does not divide B", '''\
def replica_rows(x, replica_id, num_replicas):
    return np.array_split(np.asarray(x), num_replicas)[replica_id]'''),
        ("the block size rounded up instead of down", '''def replica_rows(x, replica_id, num_replicas):
    x = np.asarray(x)
    b = -(-len(x) // num_replicas)
    return x[replica_id * b:(replica_id + 1) * b]'''),
    ],
    "ex2_local_mean": [
        ("each replica's share of the global mean (compute_average_loss): the correct recipe, not the local mean",
         _LOCAL.format(loss="tf.nn.compute_average_loss(per_example_loss(z), global_batch_size=B)", reduce=_SUM)),
        ("the replicas' gradients averaged (ReduceOp.MEAN) instead of summed",
         _LOCAL.format(loss="tf.reduce_mean(per_example_loss(z))",
                       reduce="[strategy.reduce(tf.distribute.ReduceOp.MEAN, g, axis=None) for g in per_replica]")),
        ("replica 0's gradients only, no all-reduce",
         _LOCAL.format(loss="tf.reduce_mean(per_example_loss(z))",
                       reduce="[strategy.experimental_local_results(g)[0] for g in per_replica]")),
        ("the per-replica sum of the losses instead of their mean",
         _LOCAL.format(loss="tf.reduce_sum(per_example_loss(z))", reduce=_SUM)),
    ],
    "ex3_read_mix": [
        ("the backgrounds from the coarse seed",
         'answers = {"mix 0|2 background": 0, "mix 1|3 background": 1, "mix 0|2 face": 0}'),
        ("the face from the fine seed", 'answers = {"mix 0|2 background": 2, "mix 1|3 background": 3, "mix 0|2 face": 2}'),
        ("one background misread", 'answers = {"mix 0|2 background": 2, "mix 1|3 background": 1, "mix 0|2 face": 0}'),
    ],
    "ex4_check_generate": [
        ("psi = -1 and 1 refused (an open interval)", _CHECK.format(
            z_checks=_Z_OK, finite_z=_FINITE_Z, psi_checks=_PSI_OK, range_check='''\
    if not (np.isfinite(psi) and -1.0 < psi < 1.0):
        raise ValueError(f"psi must be in (-1, 1), got {psi}")''')),
        ("NaN refused but Inf let through (np.isnan)", _CHECK.format(
            z_checks=_Z_OK, finite_z='''\
    if np.any(np.isnan(z)):
        raise ValueError("z must not be NaN")''', psi_checks=_PSI_OK, range_check='''\
    if np.isnan(psi) or not -1.0 <= psi <= 1.0:
        raise ValueError(f"psi must be in [-1, 1], got {psi}")''')),
        ("no dtype checks (a float64 or integer request accepted)", _CHECK.format(
            z_checks='''\
    if z.ndim != 2 or z.shape[1] != z_dim:
        raise ValueError(f"z must be [N, {z_dim}], got {z.shape}")''', finite_z=_FINITE_Z, psi_checks='''\
    if psi.shape != ():
        raise ValueError(f"psi must be a scalar, got {psi.shape}")''', range_check=_RANGE_OK)),
        ("only z's last axis checked, not its rank", _CHECK.format(
            z_checks='''\
    if z.dtype != np.float32 or z.shape[-1] != z_dim:
        raise ValueError(f"z must be float32 [..., {z_dim}], got {z.dtype} {z.shape}")''', finite_z=_FINITE_Z,
            psi_checks=_PSI_OK, range_check=_RANGE_OK)),
    ],
}
