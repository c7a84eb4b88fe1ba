// Golden is the Java side of Gregor's record-batch interoperability tests
// (protocol/record/golden_test.go). It uses kafka-clients only.
//
//   java Golden write   prints "name hex" lines: batches written by Kafka's
//                       own MemoryRecords builders, in every codec and format.
//   java Golden read    reads "name hex" lines from stdin, parses each value
//                       with MemoryRecords, validates CRCs and prints what it
//                       read, one line per batch and per record.
//
// The record contents are a deterministic function of the index i; the Go
// test computes the same function (goldenKey, goldenValue, goldenHeaders).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.record.TimestampType;

public class Golden {
    static final long TS = 1700000000000L;

    static byte[] key(int i) {
        return i % 4 == 3 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int i) {
        if (i % 3 == 2) return null;
        return ("value-" + i + "-" + "x".repeat(i * 7 % 50)).getBytes(StandardCharsets.UTF_8);
    }

    static Header[] headers(int i) {
        if (i % 2 == 1) return new Header[0];
        return new Header[] {
            new RecordHeader("h1", ("hv-" + i).getBytes(StandardCharsets.UTF_8)),
            new RecordHeader("h2", (byte[]) null),
        };
    }

    static Compression compression(String name) {
        switch (name) {
            case "none": return Compression.NONE;
            case "gzip": return Compression.gzip().build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return Compression.lz4().build();
            case "zstd": return Compression.zstd().build();
        }
        throw new IllegalArgumentException(name);
    }

    static String hex(ByteBuffer b) {
        final String digits = "0123456789abcdef";
        ByteBuffer d = b.duplicate();
        StringBuilder sb = new StringBuilder(2 * d.remaining());
        while (d.hasRemaining()) {
            int v = d.get() & 0xff;
            sb.append(digits.charAt(v >> 4)).append(digits.charAt(v & 15));
        }
        return sb.toString();
    }

    static String hexOrNull(ByteBuffer b) {
        return b == null ? "null" : hex(b);
    }

    static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (Character.digit(s.charAt(2 * i), 16) << 4 | Character.digit(s.charAt(2 * i + 1), 16));
        }
        return out;
    }

    static void emit(String name, MemoryRecords recs) {
        System.out.println(name + " " + hex(recs.buffer()));
    }

    // batch writes n records at baseOffset with the given settings.
    static MemoryRecords batch(byte magic, String codec, TimestampType tt, long logAppendTime, long pid,
                               short epoch, int seq, boolean txn, long baseOffset, int n) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, magic, compression(codec), tt, baseOffset,
                logAppendTime, pid, epoch, seq, txn, 5);
        for (int i = 0; i < n; i++) {
            Header[] h = magic >= RecordBatch.MAGIC_VALUE_V2 ? headers(i) : new Header[0];
            b.appendWithOffset(baseOffset + i, TS + i, key(i), value(i), h);
        }
        return b.build();
    }

    static void write() {
        String[] codecs = {"none", "gzip", "snappy", "lz4", "zstd"};
        for (String c : codecs) {
            emit("v2-" + c, batch(RecordBatch.MAGIC_VALUE_V2, c, TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP,
                    -1L, (short) -1, -1, false, 100, 10));
        }
        emit("v2-txn", batch(RecordBatch.MAGIC_VALUE_V2, "none", TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP,
                4242L, (short) 7, 11, true, 100, 5));
        emit("v2-txn-zstd", batch(RecordBatch.MAGIC_VALUE_V2, "zstd", TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP,
                4242L, (short) 7, 11, true, 100, 5));
        emit("v2-logappend", batch(RecordBatch.MAGIC_VALUE_V2, "none", TimestampType.LOG_APPEND_TIME, TS + 999,
                -1L, (short) -1, -1, false, 100, 4));
        SimpleRecord[] simple = new SimpleRecord[3];
        for (int i = 0; i < simple.length; i++) simple[i] = new SimpleRecord(TS + i, key(i), value(i), headers(i));
        emit("v2-simple", MemoryRecords.withRecords(RecordBatch.MAGIC_VALUE_V2, 0L, Compression.NONE,
                TimestampType.CREATE_TIME, simple));
        emit("v2-commit", MemoryRecords.withEndTransactionMarker(200L, TS, 5, 4242L, (short) 7,
                new EndTransactionMarker(ControlRecordType.COMMIT, 33)));
        emit("v2-abort", MemoryRecords.withEndTransactionMarker(201L, TS, 5, 4242L, (short) 7,
                new EndTransactionMarker(ControlRecordType.ABORT, 34)));
        for (byte magic = 0; magic <= 1; magic++) {
            for (String c : codecs) {
                if (c.equals("zstd")) continue; // zstd needs magic 2
                emit("v" + magic + "-" + c, batch(magic, c, TimestampType.CREATE_TIME, RecordBatch.NO_TIMESTAMP,
                        -1L, (short) -1, -1, false, 300, 6));
            }
        }
    }

    static void read() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            if (line.isEmpty()) continue;
            String[] parts = line.split(" ", 2);
            System.out.println("input " + parts[0]);
            MemoryRecords recs = MemoryRecords.readableRecords(ByteBuffer.wrap(unhex(parts[1])));
            for (RecordBatch b : recs.batches()) {
                b.ensureValid();
                System.out.println(String.format(
                        "batch base=%d last=%d magic=%d codec=%s count=%d txn=%b control=%b pid=%d epoch=%d seq=%d ple=%d maxts=%d tstype=%s",
                        b.baseOffset(), b.lastOffset(), b.magic(), b.compressionType().name, b.countOrNull(),
                        b.isTransactional(), b.isControlBatch(), b.producerId(), b.producerEpoch(), b.baseSequence(),
                        b.partitionLeaderEpoch(), b.maxTimestamp(), b.timestampType()));
                for (Record r : b) {
                    r.ensureValid();
                    StringBuilder hs = new StringBuilder();
                    for (Header h : r.headers()) {
                        if (hs.length() > 0) hs.append(",");
                        hs.append(h.key()).append(":").append(h.value() == null ? "null" : hex(ByteBuffer.wrap(h.value())));
                    }
                    String extra = "";
                    if (b.isControlBatch()) {
                        EndTransactionMarker m = EndTransactionMarker.deserialize(r);
                        extra = " marker=" + m.controlType() + "/" + m.coordinatorEpoch();
                    }
                    System.out.println(String.format("record off=%d ts=%d key=%s value=%s headers=[%s]%s",
                            r.offset(), r.timestamp(), hexOrNull(r.key()), hexOrNull(r.value()), hs, extra));
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("write")) {
            write();
        } else if (args.length == 1 && args[0].equals("read")) {
            read();
        } else {
            System.err.println("usage: Golden write|read");
            System.exit(2);
        }
    }
}
