/// How a collective combines the ranks' values, as `torch.distributed.ReduceOp`.
public enum ReduceOp: Sendable {
    case sum, max, min
}
