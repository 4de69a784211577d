package dump

// SetBatchQueueLimits lowers the queue bounds of batched restores (tests:
// small trees then apply many queues, in flight while the next fills).
func SetBatchQueueLimits(data, ops int) (restore func()) {
	d, o := batchQueueData, batchQueueOps
	batchQueueData, batchQueueOps = data, ops
	return func() { batchQueueData, batchQueueOps = d, o }
}
