// Golden prints sample Kafka messages serialized by the Java client, one per
// line: "<name> <version> <hex>". protocol/golden_test.go compiles and runs
// it, then decodes and re-encodes every line with Gregor.

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.*;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.protocol.types.RawTaggedField;
import org.apache.kafka.common.record.MemoryRecords;

public class Golden {
    static final Uuid TOPIC_ID = new Uuid(0x0102030405060708L, 0x090a0b0c0d0e0f10L);

    static void emit(String name, Message m, int version) {
        ByteBufferAccessor acc = MessageUtil.toByteBufferAccessor(m, (short) version);
        ByteBuffer b = acc.buffer();
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        emitBytes(name, version, out);
    }

    static void emitBytes(String name, int version, byte[] out) {
        StringBuilder sb = new StringBuilder();
        for (byte x : out) sb.append(String.format("%02x", x & 0xff));
        System.out.println(name + " " + version + " " + sb);
    }

    static byte[] blob(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    static MemoryRecords records(int n, int seed) {
        return MemoryRecords.readableRecords(ByteBuffer.wrap(blob(n, seed)));
    }

    static ProduceRequestData produce(int v) {
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        ProduceRequestData.TopicProduceData t = new ProduceRequestData.TopicProduceData();
        if (v >= 13) t.setTopicId(TOPIC_ID); else t.setName("orders");
        List<ProduceRequestData.PartitionProduceData> ps = new ArrayList<>();
        ps.add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(records(40, 1)));
        ps.add(new ProduceRequestData.PartitionProduceData().setIndex(7).setRecords(records(3, 2)));
        t.setPartitionData(ps);
        topics.add(t);
        return new ProduceRequestData().setTransactionalId(v >= 9 ? "txn-1" : null)
            .setAcks((short) -1).setTimeoutMs(30000).setTopicData(topics);
    }

    static FetchRequestData fetchRequest(int v) {
        FetchRequestData.FetchTopic t = new FetchRequestData.FetchTopic();
        if (v >= 13) t.setTopicId(TOPIC_ID); else t.setTopic("orders");
        FetchRequestData.FetchPartition p = new FetchRequestData.FetchPartition()
            .setPartition(3).setFetchOffset(1234567890123L).setPartitionMaxBytes(1 << 20);
        if (v >= 9) p.setCurrentLeaderEpoch(5);
        if (v >= 12) p.setLastFetchedEpoch(4);
        if (v >= 5) p.setLogStartOffset(10);
        if (v >= 17) p.setReplicaDirectoryId(TOPIC_ID);
        t.setPartitions(new ArrayList<>(Arrays.asList(p)));
        FetchRequestData d = new FetchRequestData().setMaxWaitMs(500).setMinBytes(1)
            .setMaxBytes(50 << 20).setIsolationLevel((byte) 1).setTopics(new ArrayList<>(Arrays.asList(t)));
        if (v >= 7) d.setSessionId(77).setSessionEpoch(3);
        if (v >= 11) d.setRackId("rack-a");
        if (v >= 12) d.setClusterId("cluster-x");
        if (v >= 15) d.setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(2).setReplicaEpoch(9));
        else d.setReplicaId(-1);
        return d;
    }

    static FetchResponseData fetchResponse(int v) {
        FetchResponseData.PartitionData p = new FetchResponseData.PartitionData()
            .setPartitionIndex(3).setErrorCode((short) 0).setHighWatermark(1000).setLastStableOffset(990)
            .setLogStartOffset(5).setRecords(records(64, 3))
            .setAbortedTransactions(new ArrayList<>(Arrays.asList(
                new FetchResponseData.AbortedTransaction().setProducerId(42).setFirstOffset(900))));
        if (v >= 11) p.setPreferredReadReplica(-1);
        if (v >= 12) {
            p.setDivergingEpoch(new FetchResponseData.EpochEndOffset().setEpoch(2).setEndOffset(800));
            p.setCurrentLeader(new FetchResponseData.LeaderIdAndEpoch().setLeaderId(1).setLeaderEpoch(6));
            p.unknownTaggedFields().add(new RawTaggedField(9, new byte[] {1, 2, 3}));
        }
        FetchResponseData.PartitionData empty = new FetchResponseData.PartitionData()
            .setPartitionIndex(4).setErrorCode((short) 6).setHighWatermark(-1).setRecords(null);
        FetchResponseData.FetchableTopicResponse t = new FetchResponseData.FetchableTopicResponse()
            .setPartitions(new ArrayList<>(Arrays.asList(p, empty)));
        if (v >= 13) t.setTopicId(TOPIC_ID); else t.setTopic("orders");
        FetchResponseData d = new FetchResponseData().setThrottleTimeMs(11)
            .setResponses(new ArrayList<>(Arrays.asList(t)));
        if (v >= 7) d.setErrorCode((short) 0).setSessionId(77);
        if (v >= 16) {
            FetchResponseData.NodeEndpointCollection eps = new FetchResponseData.NodeEndpointCollection();
            eps.add(new FetchResponseData.NodeEndpoint().setNodeId(1).setHost("b1").setPort(9092).setRack("r1"));
            d.setNodeEndpoints(eps);
        }
        return d;
    }

    static MetadataRequestData metadataRequest(int v) {
        List<MetadataRequestData.MetadataRequestTopic> ts = new ArrayList<>();
        ts.add(new MetadataRequestData.MetadataRequestTopic().setName("orders"));
        ts.add(new MetadataRequestData.MetadataRequestTopic().setName("payments"));
        MetadataRequestData d = new MetadataRequestData().setTopics(ts);
        if (v >= 4) d.setAllowAutoTopicCreation(false);
        if (v >= 8) d.setIncludeTopicAuthorizedOperations(true);
        return d;
    }

    static MetadataResponseData metadataResponse(int v) {
        MetadataResponseData.MetadataResponseBrokerCollection bs = new MetadataResponseData.MetadataResponseBrokerCollection();
        bs.add(new MetadataResponseData.MetadataResponseBroker().setNodeId(1).setHost("broker-1").setPort(9092).setRack("r1"));
        bs.add(new MetadataResponseData.MetadataResponseBroker().setNodeId(2).setHost("broker-2").setPort(9093).setRack(null));
        MetadataResponseData.MetadataResponseTopicCollection ts = new MetadataResponseData.MetadataResponseTopicCollection();
        MetadataResponseData.MetadataResponseTopic t = new MetadataResponseData.MetadataResponseTopic()
            .setName("orders").setIsInternal(false)
            .setPartitions(new ArrayList<>(Arrays.asList(new MetadataResponseData.MetadataResponsePartition()
                .setPartitionIndex(0).setLeaderId(1).setLeaderEpoch(v >= 7 ? 3 : -1)
                .setReplicaNodes(Arrays.asList(1, 2)).setIsrNodes(Arrays.asList(1))
                .setOfflineReplicas(v >= 5 ? Arrays.asList(2) : new ArrayList<>()))));
        if (v >= 10) t.setTopicId(TOPIC_ID);
        if (v >= 8) t.setTopicAuthorizedOperations(0x0ff8);
        ts.add(t);
        MetadataResponseData d = new MetadataResponseData().setThrottleTimeMs(0).setBrokers(bs)
            .setClusterId("cluster-x").setControllerId(1).setTopics(ts);
        return d;
    }

    static JoinGroupRequestData joinRequest(int v) {
        JoinGroupRequestData.JoinGroupRequestProtocolCollection ps = new JoinGroupRequestData.JoinGroupRequestProtocolCollection();
        ps.add(new JoinGroupRequestData.JoinGroupRequestProtocol().setName("range").setMetadata(blob(12, 4)));
        ps.add(new JoinGroupRequestData.JoinGroupRequestProtocol().setName("cooperative-sticky").setMetadata(new byte[0]));
        JoinGroupRequestData d = new JoinGroupRequestData().setGroupId("group-1").setSessionTimeoutMs(45000)
            .setRebalanceTimeoutMs(300000).setMemberId("").setProtocolType("consumer").setProtocols(ps);
        if (v >= 5) d.setGroupInstanceId("instance-1");
        return d;
    }

    static JoinGroupResponseData joinResponse(int v) {
        List<JoinGroupResponseData.JoinGroupResponseMember> ms = new ArrayList<>();
        ms.add(new JoinGroupResponseData.JoinGroupResponseMember().setMemberId("m-1").setMetadata(blob(5, 5)));
        JoinGroupResponseData d = new JoinGroupResponseData().setThrottleTimeMs(3).setErrorCode((short) 0)
            .setGenerationId(8).setProtocolName("range").setLeader("m-1").setMemberId("m-1").setMembers(ms);
        if (v >= 7) d.setProtocolType("consumer");
        return d;
    }

    static byte[] assignment(int av) {
        ConsumerProtocolAssignment a = new ConsumerProtocolAssignment();
        ConsumerProtocolAssignment.TopicPartitionCollection tps = new ConsumerProtocolAssignment.TopicPartitionCollection();
        tps.add(new ConsumerProtocolAssignment.TopicPartition().setTopic("orders").setPartitions(Arrays.asList(0, 2, 4)));
        a.setAssignedPartitions(tps);
        a.setUserData(ByteBuffer.wrap(blob(3, 6)));
        ByteBuffer b = ConsumerProtocol.serializeAssignment(a, (short) av);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static SyncGroupRequestData syncRequest(int v) {
        List<SyncGroupRequestData.SyncGroupRequestAssignment> as = new ArrayList<>();
        as.add(new SyncGroupRequestData.SyncGroupRequestAssignment().setMemberId("m-1").setAssignment(assignment(3)));
        SyncGroupRequestData d = new SyncGroupRequestData().setGroupId("group-1").setGenerationId(8)
            .setMemberId("m-1").setAssignments(as);
        if (v >= 3) d.setGroupInstanceId(null);
        return d;
    }

    static SyncGroupResponseData syncResponse(int v) {
        SyncGroupResponseData d = new SyncGroupResponseData().setThrottleTimeMs(1).setErrorCode((short) 0)
            .setAssignment(assignment(v >= 4 ? 3 : 0));
        if (v >= 5) d.setProtocolType("consumer").setProtocolName("range");
        return d;
    }

    static OffsetCommitRequestData offsetCommit(int v) {
        OffsetCommitRequestData.OffsetCommitRequestTopic t = new OffsetCommitRequestData.OffsetCommitRequestTopic()
            .setName("orders").setPartitions(new ArrayList<>(Arrays.asList(
                new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(0)
                    .setCommittedOffset(100).setCommittedMetadata("meta"),
                new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(1)
                    .setCommittedOffset(200).setCommittedMetadata(null))));
        OffsetCommitRequestData d = new OffsetCommitRequestData().setGroupId("group-1")
            .setGenerationIdOrMemberEpoch(8).setMemberId("m-1").setTopics(new ArrayList<>(Arrays.asList(t)));
        if (v <= 4) d.setRetentionTimeMs(-1);
        return d;
    }

    static CreateTopicsRequestData createTopics(int v) {
        CreateTopicsRequestData.CreatableTopicCollection ts = new CreateTopicsRequestData.CreatableTopicCollection();
        CreateTopicsRequestData.CreatableTopicConfigCollection cs = new CreateTopicsRequestData.CreatableTopicConfigCollection();
        cs.add(new CreateTopicsRequestData.CreatableTopicConfig().setName("cleanup.policy").setValue("compact"));
        cs.add(new CreateTopicsRequestData.CreatableTopicConfig().setName("retention.ms").setValue(null));
        ts.add(new CreateTopicsRequestData.CreatableTopic().setName("orders").setNumPartitions(6)
            .setReplicationFactor((short) 3).setConfigs(cs));
        return new CreateTopicsRequestData().setTopics(ts).setTimeoutMs(30000).setValidateOnly(true);
    }

    static DescribeConfigsRequestData describeConfigsRequest(int v) {
        List<DescribeConfigsRequestData.DescribeConfigsResource> rs = new ArrayList<>();
        rs.add(new DescribeConfigsRequestData.DescribeConfigsResource().setResourceType((byte) 2)
            .setResourceName("orders").setConfigurationKeys(Arrays.asList("retention.ms")));
        rs.add(new DescribeConfigsRequestData.DescribeConfigsResource().setResourceType((byte) 4)
            .setResourceName("1").setConfigurationKeys(null));
        DescribeConfigsRequestData d = new DescribeConfigsRequestData().setResources(rs).setIncludeSynonyms(true);
        if (v >= 3) d.setIncludeDocumentation(true);
        return d;
    }

    static DescribeConfigsResponseData describeConfigsResponse(int v) {
        DescribeConfigsResponseData.DescribeConfigsResourceResult c = new DescribeConfigsResponseData.DescribeConfigsResourceResult()
            .setName("retention.ms").setValue("604800000").setReadOnly(false).setConfigSource((byte) 5)
            .setIsSensitive(false).setSynonyms(new ArrayList<>(Arrays.asList(
                new DescribeConfigsResponseData.DescribeConfigsSynonym().setName("log.retention.ms")
                    .setValue(null).setSource((byte) 5))));
        if (v >= 3) c.setConfigType((byte) 5).setDocumentation("docs");
        DescribeConfigsResponseData.DescribeConfigsResult r = new DescribeConfigsResponseData.DescribeConfigsResult()
            .setErrorCode((short) 0).setErrorMessage(null).setResourceType((byte) 2).setResourceName("orders")
            .setConfigs(new ArrayList<>(Arrays.asList(c)));
        return new DescribeConfigsResponseData().setThrottleTimeMs(2).setResults(new ArrayList<>(Arrays.asList(r)));
    }

    static ConsumerGroupHeartbeatResponseData heartbeatResponse(int v) {
        ConsumerGroupHeartbeatResponseData d = new ConsumerGroupHeartbeatResponseData().setThrottleTimeMs(0)
            .setErrorCode((short) 0).setMemberId("member-9").setMemberEpoch(12).setHeartbeatIntervalMs(5000);
        if (v == 0) {
            d.setAssignment(new ConsumerGroupHeartbeatResponseData.Assignment().setTopicPartitions(
                new ArrayList<>(Arrays.asList(new ConsumerGroupHeartbeatResponseData.TopicPartitions()
                    .setTopicId(TOPIC_ID).setPartitions(Arrays.asList(1, 3))))));
        } else {
            d.setAssignment(null);
        }
        return d;
    }

    static DescribeClientQuotasResponseData clientQuotas(int v) {
        DescribeClientQuotasResponseData.EntryData e = new DescribeClientQuotasResponseData.EntryData()
            .setEntity(new ArrayList<>(Arrays.asList(new DescribeClientQuotasResponseData.EntityData()
                .setEntityType("user").setEntityName(null))))
            .setValues(new ArrayList<>(Arrays.asList(new DescribeClientQuotasResponseData.ValueData()
                .setKey("producer_byte_rate").setValue(1.5e6))));
        return new DescribeClientQuotasResponseData().setThrottleTimeMs(0).setErrorCode((short) 0)
            .setErrorMessage(null).setEntries(new ArrayList<>(Arrays.asList(e)));
    }

    static BeginQuorumEpochResponseData beginQuorum(int v) {
        BeginQuorumEpochResponseData d = new BeginQuorumEpochResponseData().setErrorCode((short) 0)
            .setTopics(new ArrayList<>(Arrays.asList(new BeginQuorumEpochResponseData.TopicData().setTopicName("__cluster_metadata")
                .setPartitions(new ArrayList<>(Arrays.asList(new BeginQuorumEpochResponseData.PartitionData()
                    .setPartitionIndex(0).setLeaderId(3000).setLeaderEpoch(7)))))));
        if (v >= 1) {
            BeginQuorumEpochResponseData.NodeEndpointCollection eps = new BeginQuorumEpochResponseData.NodeEndpointCollection();
            eps.add(new BeginQuorumEpochResponseData.NodeEndpoint().setNodeId(3000).setHost("ctl").setPort(65000));
            d.setNodeEndpoints(eps);
        }
        return d;
    }

    static ApiVersionsResponseData apiVersions(int v) {
        ApiVersionsResponseData.ApiVersionCollection ks = new ApiVersionsResponseData.ApiVersionCollection();
        ks.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 0).setMinVersion((short) 3).setMaxVersion((short) 12));
        ks.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 18).setMinVersion((short) 0).setMaxVersion((short) 4));
        ApiVersionsResponseData d = new ApiVersionsResponseData().setErrorCode((short) 0).setApiKeys(ks).setThrottleTimeMs(0);
        if (v >= 3) {
            ApiVersionsResponseData.SupportedFeatureKeyCollection sf = new ApiVersionsResponseData.SupportedFeatureKeyCollection();
            sf.add(new ApiVersionsResponseData.SupportedFeatureKey().setName("metadata.version").setMinVersion((short) 7).setMaxVersion((short) 27));
            ApiVersionsResponseData.FinalizedFeatureKeyCollection ff = new ApiVersionsResponseData.FinalizedFeatureKeyCollection();
            ff.add(new ApiVersionsResponseData.FinalizedFeatureKey().setName("metadata.version").setMinVersionLevel((short) 27).setMaxVersionLevel((short) 27));
            d.setSupportedFeatures(sf).setFinalizedFeaturesEpoch(123).setFinalizedFeatures(ff).setZkMigrationReady(true);
        }
        return d;
    }

    public static void main(String[] args) {
        for (int v : new int[] {3, 9, 13}) emit("ProduceRequest", produce(v), v);
        for (int v : new int[] {4, 12, 15, 17}) emit("FetchRequest", fetchRequest(v), v);
        for (int v : new int[] {4, 12, 16}) emit("FetchResponse", fetchResponse(v), v);
        for (int v : new int[] {1, 4, 9, 12}) emit("MetadataRequest", metadataRequest(v), v);
        for (int v : new int[] {1, 5, 9, 12}) emit("MetadataResponse", metadataResponse(v), v);
        for (int v : new int[] {1, 6}) emit("JoinGroupRequest", joinRequest(v), v);
        for (int v : new int[] {2, 7}) emit("JoinGroupResponse", joinResponse(v), v);
        for (int v : new int[] {1, 4}) emit("SyncGroupRequest", syncRequest(v), v);
        for (int v : new int[] {0, 5}) emit("SyncGroupResponse", syncResponse(v), v);
        for (int v : new int[] {2, 8}) emit("OffsetCommitRequest", offsetCommit(v), v);
        for (int v : new int[] {2, 5}) emit("CreateTopicsRequest", createTopics(v), v);
        for (int v : new int[] {1, 4}) emit("DescribeConfigsRequest", describeConfigsRequest(v), v);
        for (int v : new int[] {1, 4}) emit("DescribeConfigsResponse", describeConfigsResponse(v), v);
        for (int v : new int[] {0, 3}) emitBytes("ConsumerProtocolAssignment", v, assignment(v));
        for (int v : new int[] {0, 1}) emit("ConsumerGroupHeartbeatResponse", heartbeatResponse(v), v);
        for (int v : new int[] {0, 1}) emit("DescribeClientQuotasResponse", clientQuotas(v), v);
        for (int v : new int[] {0, 1}) emit("BeginQuorumEpochResponse", beginQuorum(v), v);
        for (int v : new int[] {0, 3, 4}) emit("ApiVersionsResponse", apiVersions(v), v);
        // Headers: a v2 request header with a client id, and a v1 response header.
        RequestHeaderData rh = new RequestHeaderData().setRequestApiKey((short) 1).setRequestApiVersion((short) 12)
            .setCorrelationId(99).setClientId("gregor");
        emit("RequestHeader", rh, 2);
        emit("RequestHeader", rh, 1);
        emit("ResponseHeader", new ResponseHeaderData().setCorrelationId(99), 1);
    }
}
