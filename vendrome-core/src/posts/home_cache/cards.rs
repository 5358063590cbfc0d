//! Directory cards of the members a profile search finds.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{make_room, HomeCache};
use crate::ids::UserId;
use crate::page::Limit;
use crate::profiles::{DirectoryEntry, DirectoryFilter, ProfileCard, ProfileRepo, Relation};
use crate::Result;

impl HomeCache {
    /// The live members among `ids` as directory entries for `viewer`, in the order of `ids`:
    /// [`ProfileRepo::directory`] with [`DirectoryFilter::only`], answered from the cache where
    /// it can be. Cards missing from it are read from `profiles` in one query.
    pub async fn directory_entries(
        &self,
        viewer: Option<UserId>,
        ids: &[UserId],
        profiles: &dyn ProfileRepo,
    ) -> Result<Vec<DirectoryEntry>> {
        let circle = self.reader_circle(viewer).await?;
        let (mut cards, epoch) = {
            let state = self.lock();
            let cards: HashMap<UserId, Arc<ProfileCard>> = ids
                .iter()
                .filter_map(|id| Some((*id, Arc::clone(state.cards.get(id)?))))
                .collect();
            (cards, state.epoch)
        };
        let missing: Vec<UserId> = ids
            .iter()
            .filter(|id| !cards.contains_key(id))
            .copied()
            .collect();
        if !missing.is_empty() {
            // Read as an anonymous viewer: the relation comes from the circle, the card is the
            // same for everyone.
            let limit = Limit::parse(missing.len() as u32)?;
            let filter = DirectoryFilter {
                only: Some(missing),
                ..DirectoryFilter::default()
            };
            let loaded = profiles.directory(&filter, None, None, limit).await?.items;
            self.stats
                .cards_read
                .fetch_add(loaded.len() as u64, Ordering::Relaxed);
            let mut state = self.lock();
            let keep = state.epoch == epoch;
            if keep {
                make_room(&mut state.cards, self.config.cards);
            }
            for entry in loaded {
                let card = Arc::new(entry.card);
                if keep {
                    state.cards.insert(card.user.id, Arc::clone(&card));
                }
                cards.insert(card.user.id, card);
            }
        }
        Ok(ids
            .iter()
            .filter_map(|id| {
                let card = cards.remove(id)?;
                Some(DirectoryEntry {
                    card: ProfileCard::clone(&card),
                    relation: viewer.map_or(Relation::None, |v| circle.relation(v, *id)),
                })
            })
            .collect())
    }
}
