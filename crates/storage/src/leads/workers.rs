#[async_trait]
impl LeadWorkers for SeaOrmLeads {
    async fn is_member(&self, org: OrganizationId, user: UserId) -> anyhow::Result<bool> {
        let found = membership::Entity::find_by_id((org.as_uuid(), user.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading membership"))?;
        Ok(found.is_some())
    }

    async fn led_by(&self, org: OrganizationId, leader: UserId) -> anyhow::Result<Vec<UserId>> {
        let teams: Vec<Uuid> = team::Entity::find()
            .select_only()
            .column(team::Column::Id)
            .filter(team::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team::Column::LeaderId.eq(leader.as_uuid()))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading led teams"))?;
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<Uuid> = team_member::Entity::find()
            .select_only()
            .column(team_member::Column::UserId)
            .distinct()
            .filter(team_member::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team_member::Column::TeamId.is_in(teams))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading team members"))?;
        Ok(users.into_iter().map(UserId::from_uuid).collect())
    }

    async fn team_members(&self, org: OrganizationId, team: Uuid) -> anyhow::Result<Vec<UserId>> {
        let users: Vec<Uuid> = team_member::Entity::find()
            .select_only()
            .column(team_member::Column::UserId)
            .filter(team_member::Column::OrganizationId.eq(org.as_uuid()))
            .filter(team_member::Column::TeamId.eq(team))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading team members"))?;
        Ok(users.into_iter().map(UserId::from_uuid).collect())
    }
}
