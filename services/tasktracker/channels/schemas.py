from pydantic import BaseModel, ConfigDict


class ChannelRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    name: str


class ChannelPublic(ChannelRef):
    enabled: bool


class ChannelsPublic(BaseModel):
    data: list[ChannelPublic]
