// Prints every error code of the Kafka client on the classpath as tab-separated
// lines: code, enum name, and whether its exception is retriable.
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class DumpErrors {
    public static void main(String[] args) {
        for (Errors e : Errors.values()) {
            boolean retriable = e.exception() instanceof RetriableException;
            System.out.println(e.code() + "\t" + e.name() + "\t" + retriable);
        }
    }
}
