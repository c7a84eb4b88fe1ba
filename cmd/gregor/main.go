// Command gregor is a small Kafka admin tool built on Gregor's admin
// client: topics, consumer groups (with lag) and configs, printed as
// tables or, with -json, as JSON.
//
// Usage:
//
//	gregor [-brokers host:port,...] [-json] [-timeout 30s] <command> [flags] [args]
//
//	topics list [-internal]
//	topics create [-partitions N] [-replication-factor R] [-config k=v]... name...
//	topics delete name...
//	topics describe name...
//	groups list [-state S]... [-type T]...
//	groups describe group...
//	groups describe-share group...
//	configs describe [-type topic|broker|broker-logger|group] name...
//
// The brokers default to $GREGOR_BROKERS, else localhost:9092. The exit
// status is 1 when any item failed and 2 on usage errors.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// multi is a repeatable string flag.
type multi []string

// String joins the values given so far.
func (m *multi) String() string { return strings.Join(*m, ",") }

// Set adds one value.
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// cli carries what every command needs.
type cli struct {
	ctx    context.Context
	a      *admin.Client
	out    io.Writer
	asJSON bool
	failed bool
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gregor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("GREGOR_BROKERS")
	if def == "" {
		def = "localhost:9092"
	}
	brokers := fs.String("brokers", def, "comma-separated seed brokers")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline for the whole command")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fmt.Fprintln(stderr, "usage: gregor [flags] topics|groups|configs <subcommand> [args]")
		return 2
	}
	a, err := admin.New(gregor.ConnConfig{SeedBrokers: strings.Split(*brokers, ",")})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer a.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &cli{ctx: ctx, a: a, out: stdout, asJSON: *asJSON}
	var cmdErr error
	switch rest[0] + " " + rest[1] {
	case "topics list":
		cmdErr = c.topicsList(rest[2:], stderr)
	case "topics create":
		cmdErr = c.topicsCreate(rest[2:], stderr)
	case "topics delete":
		cmdErr = c.topicsDelete(rest[2:])
	case "topics describe":
		cmdErr = c.topicsDescribe(rest[2:])
	case "groups list":
		cmdErr = c.groupsList(rest[2:], stderr)
	case "groups describe":
		cmdErr = c.groupsDescribe(rest[2:])
	case "groups describe-share":
		cmdErr = c.shareGroupsDescribe(rest[2:])
	case "configs describe":
		cmdErr = c.configsDescribe(rest[2:], stderr)
	default:
		fmt.Fprintf(stderr, "gregor: unknown command %q\n", rest[0]+" "+rest[1])
		return 2
	}
	if errors.Is(cmdErr, flag.ErrHelp) || errors.Is(cmdErr, errUsage) {
		return 2
	}
	if cmdErr != nil {
		fmt.Fprintln(stderr, "gregor:", cmdErr)
		return 1
	}
	if c.failed {
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// errString renders an item error for output ("" for none) and notes the
// failure for the exit status.
func (c *cli) errString(err error) string {
	if err == nil {
		return ""
	}
	c.failed = true
	return err.Error()
}

// emit prints v as JSON, or rows as a table under header.
func (c *cli) emit(v any, header []string, rows [][]string) error {
	if c.asJSON {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func ints(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func (c *cli) topicsList(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("topics list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	internal := fs.Bool("internal", false, "include internal topics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := c.a.ListTopics(c.ctx, admin.ListTopicsOptions{Internal: *internal})
	if err != nil {
		return err
	}
	type row struct {
		Name     string `json:"name"`
		ID       string `json:"id"`
		Internal bool   `json:"internal"`
	}
	var js []row
	var rows [][]string
	for _, t := range ts {
		js = append(js, row{t.Name, admin.TopicIDString(t.ID), t.Internal})
		rows = append(rows, []string{t.Name, admin.TopicIDString(t.ID), fmt.Sprint(t.Internal)})
	}
	return c.emit(js, []string{"TOPIC", "ID", "INTERNAL"}, rows)
}

func (c *cli) topicsCreate(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("topics create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parts := fs.Int("partitions", -1, "partitions (broker default when -1)")
	rf := fs.Int("replication-factor", -1, "replicas per partition (broker default when -1)")
	var cfgs multi
	fs.Var(&cfgs, "config", "topic config as key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: gregor topics create [-partitions N] [-replication-factor R] [-config k=v]... name...")
		return errUsage
	}
	configs := map[string]string{}
	for _, kv := range cfgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(stderr, "gregor: -config %q is not key=value\n", kv)
			return errUsage
		}
		configs[k] = v
	}
	var topics []admin.NewTopic
	for _, n := range fs.Args() {
		topics = append(topics, admin.NewTopic{Name: n, Partitions: int32(*parts), ReplicationFactor: int16(*rf), Configs: configs})
	}
	rs, err := c.a.CreateTopics(c.ctx, topics, admin.CreateTopicsOptions{})
	if err != nil {
		return err
	}
	type row struct {
		Name              string `json:"name"`
		ID                string `json:"id,omitempty"`
		Partitions        int32  `json:"partitions"`
		ReplicationFactor int16  `json:"replication_factor"`
		Error             string `json:"error,omitempty"`
	}
	var js []row
	var rows [][]string
	for _, r := range rs {
		e := c.errString(r.Err)
		js = append(js, row{r.Name, admin.TopicIDString(r.ID), r.Partitions, r.ReplicationFactor, e})
		rows = append(rows, []string{r.Name, fmt.Sprint(r.Partitions), fmt.Sprint(r.ReplicationFactor), e})
	}
	return c.emit(js, []string{"TOPIC", "PARTITIONS", "REPLICATION", "ERROR"}, rows)
}

func (c *cli) topicsDelete(names []string) error {
	if len(names) == 0 {
		return errUsage
	}
	rs, err := c.a.DeleteTopics(c.ctx, names...)
	if err != nil {
		return err
	}
	type row struct {
		Name  string `json:"name"`
		Error string `json:"error,omitempty"`
	}
	var js []row
	var rows [][]string
	for _, r := range rs {
		e := c.errString(r.Err)
		js = append(js, row{r.Name, e})
		rows = append(rows, []string{r.Name, e})
	}
	return c.emit(js, []string{"TOPIC", "ERROR"}, rows)
}

func (c *cli) topicsDescribe(names []string) error {
	if len(names) == 0 {
		return errUsage
	}
	ds, err := c.a.DescribeTopics(c.ctx, names, admin.DescribeTopicsOptions{})
	if err != nil {
		return err
	}
	type part struct {
		Partition int32   `json:"partition"`
		Leader    int32   `json:"leader"`
		Replicas  []int32 `json:"replicas"`
		ISR       []int32 `json:"isr"`
		Offline   []int32 `json:"offline,omitempty"`
	}
	type topic struct {
		Name       string `json:"name"`
		ID         string `json:"id,omitempty"`
		Partitions []part `json:"partitions,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	var js []topic
	var rows [][]string
	for _, d := range ds {
		t := topic{Name: d.Name, Error: c.errString(d.Err)}
		if d.Err != nil {
			rows = append(rows, []string{d.Name, "", "", "", "", t.Error})
		} else {
			t.ID = admin.TopicIDString(d.ID)
		}
		for _, p := range d.Partitions {
			t.Partitions = append(t.Partitions, part{p.Partition, p.Leader, p.Replicas, p.ISR, p.Offline})
			rows = append(rows, []string{d.Name, fmt.Sprint(p.Partition), fmt.Sprint(p.Leader), ints(p.Replicas), ints(p.ISR), ""})
		}
		js = append(js, t)
	}
	return c.emit(js, []string{"TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "ERROR"}, rows)
}

func (c *cli) groupsList(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("groups list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var states, types multi
	fs.Var(&states, "state", "keep groups in this state (repeatable)")
	fs.Var(&types, "type", "keep groups of this type: classic, consumer... (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gs, err := c.a.ListGroups(c.ctx, admin.ListGroupsOptions{States: states, Types: types})
	if err != nil && len(gs) == 0 {
		return err
	}
	if err != nil {
		fmt.Fprintln(stderr, "gregor: some brokers did not answer:", err)
		c.failed = true
	}
	slices.SortFunc(gs, func(x, y admin.GroupListing) int { return strings.Compare(x.Group, y.Group) })
	type row struct {
		Group        string `json:"group"`
		Type         string `json:"type"`
		State        string `json:"state"`
		ProtocolType string `json:"protocol_type"`
		Coordinator  int32  `json:"coordinator"`
	}
	var js []row
	var rows [][]string
	for _, g := range gs {
		js = append(js, row{g.Group, g.Type, g.State, g.ProtocolType, g.Coordinator})
		rows = append(rows, []string{g.Group, g.Type, g.State, g.ProtocolType, fmt.Sprint(g.Coordinator)})
	}
	return c.emit(js, []string{"GROUP", "TYPE", "STATE", "PROTOCOL-TYPE", "COORDINATOR"}, rows)
}

func (c *cli) groupsDescribe(groups []string) error {
	if len(groups) == 0 {
		return errUsage
	}
	ds, err := c.a.DescribeGroups(c.ctx, groups, admin.DescribeGroupsOptions{})
	if err != nil {
		return err
	}
	type part struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Committed int64  `json:"committed"`
		End       int64  `json:"end"`
		Lag       int64  `json:"lag"`
		Member    string `json:"member,omitempty"`
		Error     string `json:"error,omitempty"`
	}
	type group struct {
		Group      string `json:"group"`
		Type       string `json:"type,omitempty"`
		State      string `json:"state,omitempty"`
		Members    int    `json:"members"`
		Partitions []part `json:"partitions,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	var js []group
	var rows [][]string
	for _, d := range ds {
		g := group{Group: d.Group, Type: d.Type, State: d.State, Members: len(d.Members), Error: c.errString(d.Err)}
		if d.Err != nil {
			rows = append(rows, []string{d.Group, "", "", "", "", "", "", "", g.Error})
			js = append(js, g)
			continue
		}
		owner := map[admin.TopicPartition]string{}
		for _, m := range d.Members {
			for _, tp := range m.Assignment {
				for _, p := range tp.Partitions {
					owner[admin.TopicPartition{Topic: tp.Topic, Partition: p}] = m.ClientID + "/" + m.MemberID
				}
			}
		}
		lag, err := c.a.Lag(c.ctx, d.Group)
		if err != nil {
			g.Error = c.errString(err)
		}
		tps := make([]admin.TopicPartition, 0, len(lag))
		for tp := range lag {
			tps = append(tps, tp)
		}
		slices.SortFunc(tps, func(x, y admin.TopicPartition) int {
			if x.Topic != y.Topic {
				return strings.Compare(x.Topic, y.Topic)
			}
			return int(x.Partition - y.Partition)
		})
		for _, tp := range tps {
			l := lag[tp]
			e := c.errString(l.Err)
			g.Partitions = append(g.Partitions, part{tp.Topic, tp.Partition, l.Committed, l.End, l.Lag, owner[tp], e})
			rows = append(rows, []string{d.Group, d.State, tp.Topic, fmt.Sprint(tp.Partition), fmt.Sprint(l.Committed),
				fmt.Sprint(l.End), fmt.Sprint(l.Lag), owner[tp], e})
		}
		if len(tps) == 0 {
			rows = append(rows, []string{d.Group, d.State, "", "", "", "", "", "", g.Error})
		}
		js = append(js, g)
	}
	return c.emit(js, []string{"GROUP", "STATE", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER", "ERROR"}, rows)
}

// shareGroupsDescribe prints share groups (KIP-932) with one row per
// member and assigned topic.
func (c *cli) shareGroupsDescribe(groups []string) error {
	if len(groups) == 0 {
		return errUsage
	}
	ds, err := c.a.DescribeShareGroups(c.ctx, groups, admin.DescribeGroupsOptions{})
	if err != nil {
		return err
	}
	type member struct {
		Member     string                  `json:"member"`
		ClientID   string                  `json:"client_id"`
		Assignment []admin.TopicPartitions `json:"assignment,omitempty"`
	}
	type group struct {
		Group   string   `json:"group"`
		State   string   `json:"state,omitempty"`
		Epoch   int32    `json:"epoch"`
		Members []member `json:"members,omitempty"`
		Error   string   `json:"error,omitempty"`
	}
	var js []group
	var rows [][]string
	for _, d := range ds {
		g := group{Group: d.Group, State: d.State, Epoch: d.Epoch, Error: c.errString(d.Err)}
		if d.Err != nil || len(d.Members) == 0 {
			rows = append(rows, []string{d.Group, d.State, "", "", "", "", g.Error})
		}
		for _, m := range d.Members {
			g.Members = append(g.Members, member{m.MemberID, m.ClientID, m.Assignment})
			if len(m.Assignment) == 0 {
				rows = append(rows, []string{d.Group, d.State, m.MemberID, m.ClientID, "", "", ""})
			}
			for _, tp := range m.Assignment {
				rows = append(rows, []string{d.Group, d.State, m.MemberID, m.ClientID, tp.Topic, ints(tp.Partitions), ""})
			}
		}
		js = append(js, g)
	}
	return c.emit(js, []string{"GROUP", "STATE", "MEMBER", "CLIENT-ID", "TOPIC", "PARTITIONS", "ERROR"}, rows)
}

func (c *cli) configsDescribe(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("configs describe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "topic", "resource type: topic, broker, broker-logger, group")
	all := fs.Bool("all", false, "include configs at their default value")
	if err := fs.Parse(args); err != nil {
		return err
	}
	types := map[string]admin.ConfigResourceType{"topic": admin.ConfigTopic, "broker": admin.ConfigBroker,
		"broker-logger": admin.ConfigBrokerLogger, "group": admin.ConfigGroup}
	rt, ok := types[*typ]
	if !ok || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: gregor configs describe [-type topic|broker|broker-logger|group] [-all] name...")
		return errUsage
	}
	var rs []admin.ConfigResource
	for _, n := range fs.Args() {
		rs = append(rs, admin.ConfigResource{Type: rt, Name: n})
	}
	dc, err := c.a.DescribeConfigs(c.ctx, rs, admin.DescribeConfigsOptions{})
	if err != nil {
		return err
	}
	type entry struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		Source    string  `json:"source"`
		ReadOnly  bool    `json:"read_only"`
		Sensitive bool    `json:"sensitive"`
	}
	type resource struct {
		Name    string  `json:"name"`
		Configs []entry `json:"configs,omitempty"`
		Error   string  `json:"error,omitempty"`
	}
	var js []resource
	var rows [][]string
	for _, r := range dc {
		res := resource{Name: r.Resource.Name, Error: c.errString(r.Err)}
		if r.Err != nil {
			rows = append(rows, []string{r.Resource.Name, "", "", "", res.Error})
		}
		for _, e := range r.Configs {
			if !*all && e.IsDefault() {
				continue
			}
			res.Configs = append(res.Configs, entry{e.Name, e.Value, e.Source.String(), e.ReadOnly, e.Sensitive})
			v := "<none>"
			if e.Value != nil {
				v = *e.Value
			} else if e.Sensitive {
				v = "<sensitive>"
			}
			rows = append(rows, []string{r.Resource.Name, e.Name, v, e.Source.String(), ""})
		}
		js = append(js, res)
	}
	return c.emit(js, []string{"RESOURCE", "CONFIG", "VALUE", "SOURCE", "ERROR"}, rows)
}
