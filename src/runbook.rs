//! The incident runbook for a leaked AWS key: a checklist with ready commands, in the order that
//! limits the damage (contain, look, clean up in every region, harden, bill, purge history). The
//! steps follow what real incidents needed; the order matters: an account closed before its
//! resources are terminated keeps being billed.

use crate::aws::KeyType;

/// What is known about one leaked key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Incident {
    /// The full access key ID, when known (`--key-id`, or an unredacted report).
    pub(crate) key_id: Option<String>,
    /// The key ID as the report showed it (redacted), when the full one is not known.
    pub(crate) shown_id: Option<String>,
    pub(crate) account: Option<String>,
    /// IAM user name (from `--verify`, or `--user`).
    pub(crate) user: Option<String>,
    /// Role name, for a temporary key whose caller `--verify` named.
    pub(crate) role: Option<String>,
    pub(crate) arn: Option<String>,
    /// `--verify`'s status, in words.
    pub(crate) status: Option<String>,
    pub(crate) temporary: bool,
    /// Where it was found: `file:line (commit abc123)`.
    pub(crate) places: Vec<String>,
}

struct Item {
    text: String,
    commands: Vec<String>,
}

struct Step {
    title: &'static str,
    items: Vec<Item>,
}

fn item(text: impl Into<String>, commands: &[&str]) -> Item {
    Item {
        text: text.into(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
    }
}

impl Incident {
    /// The key ID as it goes into commands: the full ID, or a variable the reader sets once.
    fn id(&self) -> String {
        self.key_id.clone().unwrap_or_else(|| "\"$KEY_ID\"".into())
    }

    fn user(&self) -> String {
        match &self.user {
            Some(u) => crate::report::remedy::shell_quote(u),
            None => "\"$USER_NAME\"".into(),
        }
    }

    fn steps(&self) -> Vec<Step> {
        let id = self.id();
        let user = self.user();
        vec![
            self.contain(&id, &user),
            look(&id),
            clean_up(),
            self.harden(&user),
            bill(),
            purge(&id),
        ]
    }

    /// Stop the key working: deactivate, replace, delete; a temporary key revokes its role's sessions.
    fn contain(&self, id: &str, user: &str) -> Step {
        let mut contain = Vec::new();
        if self.key_id.is_none() {
            contain.push(item(
                format!(
                    "Set the full key ID (the report shows only {}; IAM > Users > Security credentials lists it):",
                    self.shown_id.as_deref().unwrap_or("part of it")
                ),
                &["KEY_ID=AKIA...   # the full 20-character access key ID"],
            ));
        }
        if self.temporary {
            let role = self.role.as_deref().unwrap_or("ROLE_NAME");
            contain.push(item(
                format!(
                    "A temporary (ASIA) key cannot be deactivated: revoke every session of its role \
                     now (IAM > Roles > {role} > Revoke active sessions), then find the long-term \
                     credential that created it (CloudTrail AssumeRole / GetSessionToken events) and \
                     treat that one as leaked too."
                ),
                &[],
            ));
        } else {
            if self.user.is_none() {
                contain.push(item(
                    "Find the IAM user the key belongs to:",
                    &[&format!(
                        "USER_NAME=$(aws iam get-access-key-last-used --access-key-id {id} --query UserName --output text)"
                    )],
                ));
            }
            contain.push(item(
                "Deactivate the key now (it stops working at once; deleting comes after the replacement works):",
                &[&format!(
                    "aws iam update-access-key --user-name {user} --access-key-id {id} --status Inactive"
                )],
            ));
            contain.push(item(
                "Create a replacement and put it where the old one was used (a profile in ~/.aws/credentials, \
                 a CI secret, or better SSO / OIDC):",
                &[&format!("aws iam create-access-key --user-name {user}")],
            ));
            contain.push(item(
                "Delete the leaked key:",
                &[&format!(
                    "aws iam delete-access-key --user-name {user} --access-key-id {id}"
                )],
            ));
            contain.push(item(
                "List the user's other keys: any you did not create is the attacker's; deactivate and delete it too:",
                &[&format!(
                    "aws iam list-access-keys --user-name {user} --query 'AccessKeyMetadata[].[AccessKeyId,Status,CreateDate]' --output text"
                )],
            ));
        }
        Step {
            title: "Contain: stop the key working",
            items: contain,
        }
    }

    /// The account settings that keep the next key from costing money.
    fn harden(&self, user: &str) -> Step {
        Step {
            title: "Harden the account",
            items: vec![
                item(
                    "Sign in as root: enable MFA on the root user, and delete every root access key \
                     (Security credentials page; root keys should not exist).",
                    &[],
                ),
                item(
                    format!(
                        "Least privilege: cut IAM users and groups down to what they need (review {}'s policies):",
                        self.user.as_deref().unwrap_or("the user")
                    ),
                    &[
                        &format!("aws iam list-attached-user-policies --user-name {user}"),
                        &format!("aws iam list-groups-for-user --user-name {user}"),
                    ],
                ),
                item(
                    "A password policy:",
                    &["aws iam update-account-password-policy --minimum-password-length 14 --require-symbols \\\n  \
                       --require-numbers --require-uppercase-characters --require-lowercase-characters --password-reuse-prevention 24"],
                ),
                item(
                    "CloudTrail in all regions (the bucket must exist and allow CloudTrail to write):",
                    &["aws cloudtrail create-trail --name account-trail --s3-bucket-name BUCKET --is-multi-region-trail\n\
                       aws cloudtrail start-logging --name account-trail"],
                ),
                item(
                    format!(
                        "A budget with an e-mail alert, and billing alarms (Billing > Budgets; CloudWatch billing alarm in us-east-1){}:",
                        self.account
                            .as_deref()
                            .map(|a| format!(" for account {a}"))
                            .unwrap_or_default()
                    ),
                    &[&format!(
                        "aws budgets create-budget --account-id {} \\\n  \
                         --budget '{{\"BudgetName\":\"monthly\",\"BudgetLimit\":{{\"Amount\":\"100\",\"Unit\":\"USD\"}},\"TimeUnit\":\"MONTHLY\",\"BudgetType\":\"COST\"}}' \\\n  \
                         --notifications-with-subscribers '[{{\"Notification\":{{\"NotificationType\":\"ACTUAL\",\"ComparisonOperator\":\"GREATER_THAN\",\"Threshold\":80}},\"Subscribers\":[{{\"SubscriptionType\":\"EMAIL\",\"Address\":\"you@example.com\"}}]}}]'",
                        self.account.as_deref().unwrap_or("ACCOUNT_ID")
                    )],
                ),
            ],
        }
    }

    fn heading(&self) -> String {
        let mut h = format!(
            "leaked AWS key {}",
            self.key_id
                .as_deref()
                .or(self.shown_id.as_deref())
                .unwrap_or("(key ID not given)")
        );
        if let Some(a) = &self.account {
            h.push_str(&format!(", account {a}"));
        }
        if let Some(u) = &self.user {
            h.push_str(&format!(", user {u}"));
        } else if let Some(r) = &self.role {
            h.push_str(&format!(", role {r}"));
        }
        h
    }

    /// The checklist as plain text for a terminal.
    pub(crate) fn text(&self) -> String {
        let mut s = format!("Incident runbook — {}\n", self.heading());
        self.facts(&mut s, "");
        for (n, step) in self.steps().iter().enumerate() {
            s.push_str(&format!("\n{}. {}\n", n + 1, step.title));
            for it in &step.items {
                s.push_str(&format!("   [ ] {}\n", it.text));
                for c in &it.commands {
                    for line in c.lines() {
                        s.push_str(&format!("         {line}\n"));
                    }
                }
            }
        }
        s
    }

    /// The checklist as Markdown (task lists and fenced commands) for an incident ticket.
    pub(crate) fn markdown(&self) -> String {
        let mut s = format!("# Incident: {}\n\n", self.heading());
        self.facts(&mut s, "- ");
        for (n, step) in self.steps().iter().enumerate() {
            s.push_str(&format!("\n## {}. {}\n\n", n + 1, step.title));
            for it in &step.items {
                s.push_str(&format!("- [ ] {}\n", it.text));
                for c in &it.commands {
                    s.push_str("  ```sh\n");
                    for line in c.lines() {
                        s.push_str(&format!("  {line}\n"));
                    }
                    s.push_str("  ```\n");
                }
            }
        }
        s
    }

    fn facts(&self, s: &mut String, bullet: &str) {
        if let Some(st) = &self.status {
            s.push_str(&format!("{bullet}Verified with STS: {st}"));
            if let Some(arn) = &self.arn {
                s.push_str(&format!(" ({arn})"));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "{bullet}Key type: {}\n",
            if self.temporary {
                "temporary (ASIA): expires on its own, but works until then"
            } else {
                "long-term (AKIA): works until deleted"
            }
        ));
        for p in &self.places {
            s.push_str(&format!("{bullet}Found at: {p}\n"));
        }
    }

    /// An incident for a bare key ID (account decoded offline).
    pub(crate) fn for_key(key_id: &str) -> Incident {
        Incident {
            key_id: Some(key_id.to_string()),
            account: crate::aws::account_id(key_id).map(|a| format!("{a:012}")),
            temporary: KeyType::of(key_id) == Some(KeyType::Temporary),
            ..Incident::default()
        }
    }
}

/// CloudTrail, per region: every call the key made.
fn look(id: &str) -> Step {
    Step {
        title: "Look: what did the key do (CloudTrail keeps 90 days of events per region)",
        items: vec![item(
            "Every call made with the key, in every region:",
            &[&format!(
                "for r in $(aws ec2 describe-regions --query 'Regions[].RegionName' --output text); do\n  \
                 echo \"== $r\"\n  \
                 aws cloudtrail lookup-events --region \"$r\" --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={id} \\\n    \
                 --query 'Events[].[EventTime,EventName,EventSource]' --output text\n\
                 done"
            )],
        )],
    }
}

/// What attackers start, in every region, and the order that stops the billing.
fn clean_up() -> Step {
    Step {
        title: "Clean up: what an attacker starts, in EVERY region",
        items: vec![
            item(
                "Attackers start miners in every region at once; list EC2 instances, spot requests, \
                 Lambda functions and RDS databases everywhere:",
                &["for r in $(aws ec2 describe-regions --query 'Regions[].RegionName' --output text); do\n  \
                   echo \"== $r\"\n  \
                   aws ec2 describe-instances --region \"$r\" --query 'Reservations[].Instances[].[InstanceId,State.Name,InstanceType,LaunchTime]' --output text\n  \
                   aws ec2 describe-spot-instance-requests --region \"$r\" --query 'SpotInstanceRequests[].[SpotInstanceRequestId,State,CreateTime]' --output text\n  \
                   aws lambda list-functions --region \"$r\" --query 'Functions[].[FunctionName,LastModified]' --output text\n  \
                   aws rds describe-db-instances --region \"$r\" --query 'DBInstances[].[DBInstanceIdentifier,DBInstanceStatus,InstanceCreateTime]' --output text\n\
                   done"],
            ),
            item(
                "New IAM users, their access keys and console passwords (login profiles): remove what you did not create:",
                &["aws iam list-users --query 'Users[].[UserName,CreateDate]' --output text\n\
                   for u in $(aws iam list-users --query 'Users[].UserName' --output text); do\n  \
                   aws iam list-access-keys --user-name \"$u\" --query 'AccessKeyMetadata[].[UserName,AccessKeyId,Status,CreateDate]' --output text\n  \
                   aws iam get-login-profile --user-name \"$u\" --query 'LoginProfile.[UserName,CreateDate]' --output text 2>/dev/null\n\
                   done"],
            ),
            item(
                "Root access keys (1 means the root user has a key: attackers create one to come back, and sell it):",
                &["aws iam get-account-summary --query 'SummaryMap.AccountAccessKeysPresent'"],
            ),
            item(
                "Terminate what you did not start (instances, spot requests, functions, databases) in each region. \
                 Do NOT close the account before every resource is terminated: a closed account keeps \
                 billing for what still runs.",
                &[],
            ),
        ],
    }
}

/// The billing adjustment, asked for once the account is secured.
fn bill() -> Step {
    Step {
        title: "The bill",
        items: vec![item(
            "Once the account is secured (the steps above done), open an AWS Support case \
             (Account and billing) asking for a billing adjustment for the unauthorized usage; \
             AWS grants it only for a secured account.",
            &[],
        )],
    }
}

/// Purging history: how, and why it does not un-leak a pushed key.
fn purge(id: &str) -> Step {
    Step {
        title: "Purge git history (it does not un-leak a pushed key)",
        items: vec![
            item(
                "Rewrite every commit, replacing the key ID and the secret. The replacements file holds \
                 the secret: create it readable by you only, type the secret without echo, remove the file after:",
                &[&format!(
                    "f=$(mktemp) && chmod 600 \"$f\"\n\
                     printf '%s==>REMOVED-AWS-KEY-ID\\n' {id} >> \"$f\"\n\
                     read -rsp 'secret access key: ' SECRET && printf '%s==>REMOVED-AWS-SECRET\\n' \"$SECRET\" >> \"$f\"; unset SECRET\n\
                     git filter-repo --replace-text \"$f\"\n\
                     rm -f \"$f\""
                )],
            ),
            item(
                "git filter-repo removes the origin remote: add it back and force-push every branch and tag:",
                &["git remote add origin URL\ngit push --force --all origin && git push --force --tags origin"],
            ),
            item(
                "Every collaborator re-clones (an old clone pushes the key back). Forks, clones, CI caches \
                 and the host's cached views still hold it: purging does not un-leak a pushed key, \
                 only deactivating it (step 1) makes it harmless.",
                &[],
            ),
        ],
    }
}
