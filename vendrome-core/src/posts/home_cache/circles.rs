//! Members' circles kept compactly ([`Circles`]): every member's, read when the cache starts
//! ([`HomeCache::preload`](super::HomeCache::preload)), so that a first read needs no query for
//! the circle. A circle here is a list of (person, relation) pairs and the topics' slugs, about
//! half a kilobyte for a member with 25 people; [`Circle`] is built from it when a member is
//! first read. The graph events that drop a member's cached circle drop this one too.

use std::collections::HashMap;

use super::super::feed::Circle;
use crate::ids::UserId;

/// How a person relates to the circle's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Following,
    Connection,
    Blocked,
    RequestSent,
    RequestReceived,
}

/// One member's circle, compact.
struct Compact {
    people: Box<[(UserId, Relation)]>,
    topics: Box<[Box<str>]>,
}

impl Compact {
    fn of(circle: &Circle) -> Self {
        let sets = [
            (&circle.following, Relation::Following),
            (&circle.connections, Relation::Connection),
            (&circle.blocked, Relation::Blocked),
            (&circle.requests_sent, Relation::RequestSent),
            (&circle.requests_received, Relation::RequestReceived),
        ];
        let people = (sets.iter())
            .flat_map(|(set, relation)| set.iter().map(move |p| (*p, *relation)))
            .collect();
        let topics = circle.topics.iter().map(|t| t.as_str().into()).collect();
        Self { people, topics }
    }

    fn circle(&self) -> Circle {
        let mut circle = Circle {
            topics: self.topics.iter().map(|t| t.to_string()).collect(),
            ..Circle::default()
        };
        for (person, relation) in self.people.iter() {
            let set = match relation {
                Relation::Following => &mut circle.following,
                Relation::Connection => &mut circle.connections,
                Relation::Blocked => &mut circle.blocked,
                Relation::RequestSent => &mut circle.requests_sent,
                Relation::RequestReceived => &mut circle.requests_received,
            };
            set.insert(*person);
        }
        circle
    }
}

/// See the module documentation.
#[derive(Default)]
pub(super) struct Circles {
    kept: HashMap<UserId, Compact>,
}

impl Circles {
    pub fn get(&self, member: UserId) -> Option<Circle> {
        self.kept.get(&member).map(Compact::circle)
    }

    pub fn insert(&mut self, member: UserId, circle: &Circle) {
        self.kept.insert(member, Compact::of(circle));
    }

    pub fn remove(&mut self, member: UserId) {
        self.kept.remove(&member);
    }

    pub fn clear(&mut self) {
        self.kept.clear();
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circle_comes_back_as_it_was_kept() {
        let ids: Vec<UserId> = (0..6).map(|_| UserId::new()).collect();
        let circle = Circle {
            following: [ids[0], ids[1]].into_iter().collect(),
            connections: [ids[1], ids[2]].into_iter().collect(),
            topics: ["solar".to_owned(), "fintech".to_owned()]
                .into_iter()
                .collect(),
            blocked: [ids[3]].into_iter().collect(),
            requests_sent: [ids[4]].into_iter().collect(),
            requests_received: [ids[5]].into_iter().collect(),
        };
        let mut circles = Circles::default();
        circles.insert(ids[0], &circle);
        assert_eq!(circles.get(ids[0]), Some(circle));
        assert_eq!(circles.get(ids[1]), None);
        circles.remove(ids[0]);
        assert_eq!(circles.len(), 0);
    }
}
