// Reads lines of "<hex key> <partition count>" from standard input and prints,
// for each, the partition the Java client's built-in partitioner picks.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class KeyPartitions {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split(" ");
            String hex = parts[0].equals("-") ? "" : parts[0];
            byte[] key = new byte[hex.length() / 2];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
            }
            out.append(BuiltInPartitioner.partitionForKey(key, Integer.parseInt(parts[1]))).append('\n');
        }
        System.out.print(out);
    }
}
