// AssignServer answers assignment requests with the Java client's
// assignors, for Gregor's golden tests. It reads requests from stdin and
// writes one answer per request to stdout (flushed), so the Go test can
// drive multi-round rebalances against it.
//
// Requests (one item per line, fields separated by spaces, "-" = none):
//
//   assign <assignor> <repeat>
//   topic <name> <partitions> <racks>      racks: "-" or per partition "r1,r2/r3/."
//   member <id> <instance> <rack> <topics> <owned> <generation> <userdata> <sendOwned>
//   end
//     owned: "t:0,1;u:2"; userdata: "-", "hex:<bytes>", or "java" (encode
//     owned+generation with the assignor's own onAssignment/subscriptionUserData);
//     sendOwned: 1 to put owned into the subscription's ownedPartitions.
//     Answer: "m <id> <owned-format>" per member, then "done <avg nanos>";
//     or "error <exception>" when the assignor throws.
//   encode <assignor> <owned> <generation>    -> "hex <bytes>" or "hex -"
//   decode <assignor> <hex>                   -> "owned <owned-format> <generation>"
import java.io.*;
import java.lang.reflect.*;
import java.nio.ByteBuffer;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.*;
import org.apache.kafka.clients.consumer.internals.AbstractStickyAssignor;
import org.apache.kafka.common.*;

public class AssignServer {
    static final long CPU_LIMIT_NANOS = 1_000_000_000L;

    static ConsumerPartitionAssignor newAssignor(String name) {
        switch (name) {
            case "range": return new RangeAssignor();
            case "roundrobin": return new RoundRobinAssignor();
            case "sticky": return new StickyAssignor();
            case "cooperative-sticky": return new CooperativeStickyAssignor();
        }
        throw new IllegalArgumentException(name);
    }

    static List<TopicPartition> parseOwned(String s) {
        List<TopicPartition> out = new ArrayList<>();
        if (s.equals("-")) return out;
        for (String t : s.split(";")) {
            int c = t.lastIndexOf(':');
            String topic = t.substring(0, c);
            for (String p : t.substring(c + 1).split(","))
                if (!p.isEmpty()) out.add(new TopicPartition(topic, Integer.parseInt(p)));
        }
        return out;
    }

    static String formatOwned(List<TopicPartition> tps) {
        if (tps == null || tps.isEmpty()) return "-";
        TreeMap<String, TreeSet<Integer>> m = new TreeMap<>();
        for (TopicPartition tp : tps) m.computeIfAbsent(tp.topic(), k -> new TreeSet<>()).add(tp.partition());
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, TreeSet<Integer>> e : m.entrySet()) {
            if (sb.length() > 0) sb.append(';');
            sb.append(e.getKey()).append(':');
            boolean first = true;
            for (int p : e.getValue()) {
                if (!first) sb.append(',');
                sb.append(p);
                first = false;
            }
        }
        return sb.toString();
    }

    static byte[] unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static String hex(ByteBuffer buf) {
        if (buf == null) return "-";
        ByteBuffer d = buf.duplicate();
        StringBuilder sb = new StringBuilder();
        while (d.hasRemaining()) sb.append(String.format("%02x", d.get()));
        return sb.toString();
    }

    static ByteBuffer javaUserData(String assignor, List<TopicPartition> owned, int generation) {
        ConsumerPartitionAssignor a = newAssignor(assignor);
        a.onAssignment(new Assignment(owned), new ConsumerGroupMetadata("g", generation, "m", Optional.empty()));
        return a.subscriptionUserData(new HashSet<>());
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        // Answers go to the real stdout; anything the client logs goes to stderr.
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), false);
        System.setOut(System.err);
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split(" ");
            switch (f[0]) {
                case "assign": assign(f[1], Integer.parseInt(f[2]), in, out); break;
                case "encode":
                    out.println("hex " + hex(javaUserData(f[1], parseOwned(f[2]), Integer.parseInt(f[3]))));
                    break;
                case "decode": decode(f[1], f.length > 2 ? f[2] : "", out); break;
                default: throw new IllegalArgumentException(line);
            }
            out.flush();
        }
    }

    static void decode(String assignor, String h, PrintStream out) throws Exception {
        ConsumerPartitionAssignor a = newAssignor(assignor);
        Subscription sub = new Subscription(Collections.emptyList(), ByteBuffer.wrap(unhex(h)), Collections.emptyList(), -1, Optional.empty());
        Method m = a.getClass().getDeclaredMethod("memberData", Subscription.class);
        m.setAccessible(true);
        AbstractStickyAssignor.MemberData md = (AbstractStickyAssignor.MemberData) m.invoke(a, sub);
        out.println("owned " + formatOwned(md.partitions) + " " + md.generation.orElse(-1));
    }

    static void assign(String assignor, int repeat, BufferedReader in, PrintStream out) throws IOException {
        Map<String, Node> rackNodes = new HashMap<>();
        Node noRack = new Node(0, "h0", 9092);
        List<Node> nodes = new ArrayList<>(List.of(noRack));
        List<PartitionInfo> partitions = new ArrayList<>();
        Map<String, Subscription> subs = new HashMap<>();
        List<String> order = new ArrayList<>();
        String line;
        while (!(line = in.readLine()).equals("end")) {
            String[] f = line.split(" ");
            if (f[0].equals("topic")) {
                int n = Integer.parseInt(f[2]);
                String[] racks = f[3].equals("-") ? null : f[3].split("/", -1);
                for (int p = 0; p < n; p++) {
                    List<Node> replicas = new ArrayList<>();
                    if (racks != null && !racks[p].equals(".")) {
                        for (String r : racks[p].split(",")) {
                            Node node = rackNodes.computeIfAbsent(r, k -> {
                                Node x = new Node(rackNodes.size() + 1, "h" + k, 9092, k);
                                nodes.add(x);
                                return x;
                            });
                            replicas.add(node);
                        }
                    }
                    if (replicas.isEmpty()) replicas.add(noRack);
                    Node[] rs = replicas.toArray(new Node[0]);
                    partitions.add(new PartitionInfo(f[1], p, rs[0], rs, rs));
                }
            } else if (f[0].equals("member")) {
                String id = f[1];
                List<String> topics = f[4].equals("-") ? new ArrayList<>() : new ArrayList<>(Arrays.asList(f[4].split(",")));
                List<TopicPartition> owned = parseOwned(f[5]);
                int gen = Integer.parseInt(f[6]);
                ByteBuffer ud = null;
                if (f[7].equals("java")) ud = javaUserData(assignor, owned, gen);
                else if (f[7].startsWith("hex:")) ud = ByteBuffer.wrap(unhex(f[7].substring(4)));
                Subscription s = new Subscription(topics, ud, f[8].equals("1") ? owned : new ArrayList<>(), gen,
                        f[3].equals("-") ? Optional.empty() : Optional.of(f[3]));
                if (!f[2].equals("-")) s.setGroupInstanceId(Optional.of(f[2]));
                subs.put(id, s);
                order.add(id);
            } else {
                throw new IllegalArgumentException(line);
            }
        }
        Cluster cluster = new Cluster("c", nodes, partitions, Collections.emptySet(), Collections.emptySet());
        // Run the assignor on a worker thread and give up on it after a few
        // seconds of its own CPU time (not wall time, which a loaded machine
        // stretches): some inputs send Java's sticky assignors into a loop.
        GroupAssignment[] box = new GroupAssignment[1];
        RuntimeException[] failure = new RuntimeException[1];
        long start = System.nanoTime();
        Thread worker = new Thread(() -> {
            try {
                for (int i = 0; i < repeat; i++) {
                    // A fresh leader instance each time, as after a leader change.
                    box[0] = newAssignor(assignor).assign(cluster, new GroupSubscription(subs));
                }
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        });
        worker.start();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        try {
            while (worker.isAlive()) {
                worker.join(10);
                long cpu = mx.getThreadCpuTime(worker.getId());
                if (worker.isAlive() && cpu > CPU_LIMIT_NANOS * Math.max(1, repeat)) {
                    worker.stop(); // deprecated, but the assignor holds no shared state
                    worker.join();
                    out.println("error no result after " + cpu / 1_000_000 + " ms of CPU");
                    return;
                }
            }
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
        if (failure[0] != null) {
            out.println("error " + failure[0].toString().replace('\n', ' '));
            return;
        }
        GroupAssignment result = box[0];
        long avg = (System.nanoTime() - start) / Math.max(1, repeat);
        for (String id : order) {
            Assignment a = result.groupAssignment().get(id);
            out.println("m " + id + " " + formatOwned(a == null ? null : a.partitions()));
        }
        out.println("done " + avg);
    }
}
