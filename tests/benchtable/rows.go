package main

// rows is the comparison table `make bench` prints. Ratios > 1 mean we are
// faster (throughput higher, or time/space lower) than the reference.
// Sizes: TAPELAB_BENCH_SIZE (bytes) and TAPELAB_BENCH_FILES scale the runs.
var rows = []row{
	// FUSE (fs): our mount vs go-fuse loopback (passthrough off) vs the raw directory.
	{"FUSE seq write vs go-fuse loopback", "./fs", "BenchmarkSeqWrite/tapelab", "BenchmarkSeqWrite/loopback", "MB/s", ">= 0.5x", true},
	{"FUSE seq write vs raw directory", "./fs", "BenchmarkSeqWrite/tapelab", "BenchmarkSeqWrite/direct", "MB/s", "(the limit)", true},
	{"FUSE seq read vs go-fuse loopback", "./fs", "BenchmarkSeqRead/tapelab", "BenchmarkSeqRead/loopback", "MB/s", ">= 0.8x", true},
	{"FUSE seq read vs raw directory", "./fs", "BenchmarkSeqRead/tapelab", "BenchmarkSeqRead/direct", "MB/s", "(the limit)", true},
	{"FUSE create+stat+unlink 4 KiB vs loopback", "./fs", "BenchmarkSmallFiles/tapelab", "BenchmarkSmallFiles/loopback", "files/s", ">= 0.5x", true},
	{"FUSE create+stat+unlink 4 KiB vs raw dir", "./fs", "BenchmarkSmallFiles/tapelab", "BenchmarkSmallFiles/direct", "files/s", "(the limit)", true},
	// Volumes and snapshots.
	{"snapshot create: 1 GiB vol time / 8 GiB vol time", "./volume", "BenchmarkSnapshotCreate/8GiB", "BenchmarkSnapshotCreate/1GiB", "ns/op", ">= 0.67x (8G <= 1.5x 1G)", false},
	{"snapshot diff after 1% change vs full scan", "./volume", "BenchmarkDiff/changes", "BenchmarkDiff/fullscan", "ns/op", ">= 20x", false},
	{"space after snapshot delete + GC: live / disk", "./volume", "BenchmarkSpaceAfterGC/disk", "BenchmarkSpaceAfterGC/live", "bytes", ">= 0.91x (within 10%)", false},
	{"volume seq write (1 MiB) vs raw Badger, same keys", "./volume", "BenchmarkWriteSeq/volume", "BenchmarkWriteSeq/badger-raw", "MB/s", "", true},
	{"volume seq read vs raw Badger", "./volume", "BenchmarkReadSeq/volume", "BenchmarkReadSeq/badger-raw", "MB/s", "", true},
	// VTL: records through the drive's Go API vs plain sequential file I/O.
	{"VTL write+read 64 KiB records vs file I/O", "./vtl", "BenchmarkDriveWriteRead64K", "BenchmarkFileWriteRead64K", "MB/s", ">= 0.8x", true},
	{"VTL write+read 256 KiB records vs file I/O", "./vtl", "BenchmarkDriveWriteRead256K", "BenchmarkFileWriteRead256K", "MB/s", ">= 0.8x", true},
	// NDMP mover: ours vs ndmjob's own daemon, both driven by ndmjob.
	{"NDMP mover LOCAL (ndmjob DMA): ours vs ndmjob daemon", "./tests/ndmp", "BenchmarkMoverLocalNdmjobDMAOurs", "BenchmarkMoverLocalNdmjobDMADaemon", "MB/s", ">= 1.0x", true},
	{"NDMP mover TCP (ndmjob DMA): ours vs ndmjob daemon", "./tests/ndmp", "BenchmarkMoverTCPNdmjobDMAOurs", "BenchmarkMoverTCPNdmjobDMADaemon", "MB/s", ">= 1.0x", true},
	{"NDMP mover LOCAL (our client) vs ndmjob daemon", "./tests/ndmp", "BenchmarkMoverLocalClientOurs", "BenchmarkMoverLocalNdmjobDMADaemon", "MB/s", "", true},
	{"NDMP mover TCP (our client) vs ndmjob daemon", "./tests/ndmp", "BenchmarkMoverTCPClientOurs", "BenchmarkMoverTCPNdmjobDMADaemon", "MB/s", "", true},
	// DMA: a backup+recover that spans three cartridges vs one cartridge.
	{"DMA backup+recover spanning 3 cartridges vs one", "./dma", "BenchmarkBackupRecoverSpanned", "BenchmarkBackupRecoverOneCartridge", "MB/s", "", true},
	// Dump engine vs Linux dump/restore on the same tree (time per run).
	{"dump backup vs Linux dump -0 -b 64", "./engines/dump", "BenchmarkBackupOurs", "BenchmarkBackupLinuxDump", "ns/op", ">= 1.0x", false},
	{"dump restore into a volume vs Linux restore -r", "./engines/dump", "BenchmarkRestoreOurs", "BenchmarkRestoreLinux", "ns/op", ">= 1.0x", false},
	{"dump restore into a directory vs Linux restore -r", "./engines/dump", "BenchmarkRestoreOursLocalTree", "BenchmarkRestoreLinux", "ns/op", "", false},
	{"single-file DAR: % of the image read", "./engines/dump", "BenchmarkDAR", "", "%-of-image", "< 1%", false},
}
